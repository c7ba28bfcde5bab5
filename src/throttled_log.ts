import type { LogFields, Logger } from "./log.ts";

/**
 * Logs warnings of one kind at most once per interval, so a flood of the same
 * failure (say, accept failing while descriptors run out) writes one line a
 * second, not one per failure. The next line that goes out counts those held
 * back in its `held_back` field.
 *
 * @example
 * ```ts
 * import { Logger } from "./log.ts";
 * import { ThrottledLog } from "./throttled_log.ts";
 * import assert from "node:assert/strict";
 *
 * const lines: string[] = [];
 * const logger = new Logger("info", { write: (line) => lines.push(line) });
 * const log = new ThrottledLog(logger, 60_000);
 * for (let i = 0; i < 3; i++) log.warning("accept failed", { error: "EMFILE" });
 * assert.deepEqual(lines, ["warning: accept failed error=EMFILE"]);
 * ```
 */
export class ThrottledLog {
  #logger: Logger;
  #intervalMs: number;
  #quietUntil = -Infinity;
  #heldBack = 0;

  /**
   * @param logger where the lines go
   * @param intervalMs the least time between two lines
   */
  constructor(logger: Logger, intervalMs: number) {
    this.#logger = logger;
    this.#intervalMs = intervalMs;
  }

  /** Logs a warning, unless one went out less than the interval ago. */
  warning(message: string, fields: LogFields = {}): void {
    const now = performance.now();
    if (now < this.#quietUntil) {
      this.#heldBack++;
      return;
    }
    this.#logger.warning(
      message,
      this.#heldBack > 0 ? { ...fields, held_back: this.#heldBack } : fields,
    );
    this.#quietUntil = now + this.#intervalMs;
    this.#heldBack = 0;
  }
}
