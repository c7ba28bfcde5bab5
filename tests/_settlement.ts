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
