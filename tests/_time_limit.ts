/** The real timer functions, whatever fake clock a test installs. */
const { setTimeout, clearTimeout } = globalThis;

/** The time limit of a test that waits on a socket, a stream or a process. */
export const TEST_TIME_LIMIT_MS = 10_000;

/**
 * Registers a test, as `Deno.test(name, fn)` does, that fails once
 * `limitMs` milliseconds of real time have passed, so that a broken shutdown
 * or a lost wake-up fails the run instead of hanging it. The limit's timer is
 * cleared when the test settles, so the sanitizers see nothing left over.
 *
 * @example
 * ```ts ignore
 * import { test } from "./_time_limit.ts";
 *
 * test("a connection is refused on a closed port", async () => {
 *   // ... awaits on a socket or a process ...
 * });
 * ```
 */
export function test(
  name: string,
  fn: (t: Deno.TestContext) => Promise<void>,
  limitMs: number = TEST_TIME_LIMIT_MS,
): void {
  Deno.test(name, (t) => withinTimeLimit(fn(t), limitMs));
}

/**
 * Settles as `promise` does, or rejects once `ms` milliseconds of real time
 * have passed, naming `what` it waited for when given.
 *
 * @example
 * ```ts
 * import { withinTimeLimit } from "./_time_limit.ts";
 * import assert from "node:assert/strict";
 *
 * await assert.rejects(
 *   withinTimeLimit(new Promise(() => {}), 10),
 *   /timed out after 10 ms/,
 * );
 * await assert.rejects(
 *   withinTimeLimit(new Promise(() => {}), 10, "echo"),
 *   /^Error: echo: timed out after 10 ms$/,
 * );
 * ```
 */
export async function withinTimeLimit<T>(
  promise: Promise<T>,
  ms: number,
  what?: string,
): Promise<T> {
  const message = `${what ? `${what}: ` : ""}timed out after ${ms} ms`;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}
