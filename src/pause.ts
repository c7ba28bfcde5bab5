import { onAbort } from "./on_abort.ts";

/**
 * The longest delay a timer holds, in milliseconds (about 24.8 days): a longer
 * one fires at once, with a runtime warning.
 */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/**
 * Resolves after `ms` milliseconds, or as soon as `signal` aborts: a back-off
 * that never holds up shutdown.
 *
 * @example
 * ```ts
 * import { pause } from "./pause.ts";
 *
 * await pause(60_000, AbortSignal.abort()); // resolves at once
 * ```
 */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    onAbort(signal, done);
  });
}
