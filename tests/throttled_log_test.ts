import assert from "node:assert/strict";
import { Logger } from "../src/observability/log.ts";
import { ThrottledLog } from "../src/observability/throttled_log.ts";
import { FakeTime } from "./_fake_time.ts";
import { stub } from "./_stub.ts";

Deno.test("ThrottledLog below its logger's level writes nothing, holds nothing back and starts no timer", () => {
  using time = new FakeTime(0);
  using _now = stub(performance, "now", () => time.now);
  const lines: string[] = [];
  const logger = new Logger("error", { write: (line) => lines.push(line) });
  const log = new ThrottledLog(logger, {
    signal: new AbortController().signal,
  });
  for (let i = 0; i < 3; i++) log.warning("accept failed", { error: "EMFILE" });
  assert.equal(time.next(), false);
  assert.deepEqual(lines, []);
});

Deno.test("ThrottledLog holds back a flood for its default second, then writes the latest line with a count", async () => {
  using time = new FakeTime(0);
  using _now = stub(performance, "now", () => time.now);
  const lines: string[] = [];
  const logger = new Logger("info", { write: (line) => lines.push(line) });
  const log = new ThrottledLog(logger, {
    signal: new AbortController().signal,
  });
  for (let i = 1; i <= 3; i++) log.warning("accept failed", { attempt: i });
  await time.tickAsync(999);
  await time.runMicrotasks();
  assert.deepEqual(lines, ["warning: accept failed attempt=1"]);
  await time.tickAsync(1);
  await time.runMicrotasks();
  assert.deepEqual(lines, [
    "warning: accept failed attempt=1",
    "warning: accept failed attempt=3 held_back=1",
  ]);
});
