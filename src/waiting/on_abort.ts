/**
 * Calls `callback` once when `signal` aborts, or at once if it already has.
 *
 * @example
 * ```ts
 * import { onAbort } from "./on_abort.ts";
 * import assert from "node:assert/strict";
 *
 * const controller = new AbortController();
 * let calls = 0;
 * onAbort(controller.signal, () => calls++);
 * controller.abort();
 * controller.abort();
 * assert.equal(calls, 1);
 * ```
 */
export function onAbort(signal: AbortSignal, callback: () => void): void {
  if (signal.aborted) callback();
  else signal.addEventListener("abort", callback, { once: true });
}
