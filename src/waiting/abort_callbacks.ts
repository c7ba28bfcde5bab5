/**
 * Callbacks for a signal's abort, run by one listener per signal. Each
 * `addEventListener` on an `AbortSignal` costs Deno about 0.4 KiB, which
 * with a listener per idle connection was the largest thing the service
 * kept per connection besides the runtime's own; here each costs a set
 * entry.
 *
 * @module
 */

/** The callbacks waiting on each signal that has any, run by its one listener. */
const waiting = new WeakMap<AbortSignal, Set<() => void>>();

/**
 * Calls `callback` once when `signal` aborts, as an abort listener would,
 * until {@linkcode removeAbortCallback} removes it. A signal that has
 * already aborted does not abort again: the callback is not called. (No
 * function that removes it is returned: a closure each would cost 0.15 KiB
 * per idle connection.)
 *
 * @example
 * ```ts
 * import { addAbortCallback } from "./abort_callbacks.ts";
 * import assert from "node:assert/strict";
 *
 * const controller = new AbortController();
 * const calls: string[] = [];
 * addAbortCallback(controller.signal, () => calls.push("first"));
 * addAbortCallback(controller.signal, () => calls.push("last"));
 * controller.abort();
 * controller.abort();
 * assert.deepEqual(calls, ["first", "last"]);
 * ```
 */
export function addAbortCallback(
  signal: AbortSignal,
  callback: () => void,
): void {
  let callbacks = waiting.get(signal);
  if (callbacks === undefined) {
    const added = callbacks = new Set();
    waiting.set(signal, added);
    signal.addEventListener("abort", () => {
      waiting.delete(signal);
      for (const waiter of added) waiter();
    }, { once: true });
  }
  callbacks.add(callback);
}

/**
 * Removes a callback {@linkcode addAbortCallback} added, if the signal has
 * not aborted yet.
 *
 * @example
 * ```ts
 * import { addAbortCallback, removeAbortCallback } from "./abort_callbacks.ts";
 * import assert from "node:assert/strict";
 *
 * const controller = new AbortController();
 * let calls = 0;
 * const count = () => calls++;
 * addAbortCallback(controller.signal, count);
 * removeAbortCallback(controller.signal, count);
 * controller.abort();
 * assert.equal(calls, 0);
 * ```
 */
export function removeAbortCallback(
  signal: AbortSignal,
  callback: () => void,
): void {
  waiting.get(signal)?.delete(callback);
}
