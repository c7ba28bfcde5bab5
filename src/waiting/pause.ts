import { offAbort, onAbort } from "./on_abort.ts";

/**
 * The longest delay a timer holds, in milliseconds (about 24.8 days): a longer
 * one fires at once.
 */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/**
 * Resolves after `ms` milliseconds, or as soon as `signal` aborts: a back-off
 * that never holds up shutdown.
 *
 * The timer is `AbortSignal.timeout`, not `setTimeout`: Deno's `setTimeout`
 * makes a Node.js `Timeout`, and the first one loads part of the Node.js
 * compatibility layer (11 to 13 ms, paid by the first client). Once nothing
 * listens to it, the timeout no longer keeps the process alive.
 *
 * @example
 * ```ts
 * import { pause } from "./pause.ts";
 * import assert from "node:assert/strict";
 *
 * const started = performance.now();
 * await pause(60_000, AbortSignal.abort()); // resolves at once
 * assert.ok(performance.now() - started < 1_000);
 * ```
 */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timeout = AbortSignal.timeout(ms);
    function done() {
      timeout.removeEventListener("abort", done);
      offAbort(signal, done);
      resolve();
    }
    timeout.addEventListener("abort", done);
    onAbort(signal, done);
  });
}
