import type { FakeTime } from "./_fake_time.ts";

/**
 * Records when `promise` settles, in fake milliseconds since `time` started,
 * so that a test can assert on it after the clock has moved: a check that
 * something has not happened yet, which a race against `Promise.resolve()`
 * cannot make.
 *
 * @example
 * ```ts
 * import { FakeTime } from "./_fake_time.ts";
 * import { settlement } from "./_settlement.ts";
 * import assert from "node:assert/strict";
 *
 * using time = new FakeTime();
 * const ended = settlement(new Promise((resolve) => setTimeout(resolve, 500)), time);
 * await time.tickAsync(499);
 * await time.tickAsync(1);
 * await time.runMicrotasks();
 * assert.equal(ended.at, 500);
 * ```
 */
export function settlement(
  promise: Promise<unknown>,
  time: FakeTime,
): { at?: number } {
  const record: { at?: number } = {};
  const settle = () => record.at = time.now - time.start;
  promise.then(settle, settle);
  return record;
}

/**
 * When `promise` settles, in fake milliseconds since `time` started, running
 * the fake clock's timers one at a time, each at its own time, until it has:
 * how long something takes, without ticking through every millisecond. Throws
 * if no timer is left and it has not settled.
 *
 * @example
 * ```ts
 * import { FakeTime } from "./_fake_time.ts";
 * import { settledAt } from "./_settlement.ts";
 * import assert from "node:assert/strict";
 *
 * using time = new FakeTime();
 * setTimeout(() => {}, 200);
 * const done = new Promise((resolve) => setTimeout(resolve, 750));
 * assert.equal(await settledAt(done, time), 750);
 * ```
 */
export async function settledAt(
  promise: Promise<unknown>,
  time: FakeTime,
): Promise<number> {
  const record = settlement(promise, time);
  await time.runMicrotasks();
  while (record.at === undefined) {
    if (!time.next()) throw new Error("no timer left, and still unsettled");
    await time.runMicrotasks();
  }
  return record.at;
}
