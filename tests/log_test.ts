import assert from "node:assert/strict";
import { LOG_LEVELS, Logger } from "../src/observability/log.ts";

Deno.test("Logger.isEnabled() is true from its level up, and error() writes at every level", () => {
  for (const level of LOG_LEVELS) {
    const lines: string[] = [];
    const logger = new Logger(level, { write: (line) => lines.push(line) });
    assert.deepEqual(
      LOG_LEVELS.filter((other) => logger.isEnabled(other)),
      LOG_LEVELS.slice(LOG_LEVELS.indexOf(level)),
    );
    logger.error("cannot listen", { port: 4000 });
    assert.deepEqual(lines, ["error: cannot listen port=4000"]);
  }
});
