/**
 * Callbacks for a signal's abort, by one rule: a callback runs once, when the
 * signal aborts, or at once if it already has; until then it can be removed.
 * So code that waits on a signal never checks `signal.aborted` first.
 *
 * Every callback of a signal is run by one abort listener of its own. Each
 * `addEventListener` on an `AbortSignal` costs Deno about 0.4 KiB, which with
 * a listener per idle connection was the largest thing the service kept per
 * connection besides the runtime's own; here each costs a set entry. (No
 * function that removes it is returned: a closure each would cost 0.15 KiB
 * per idle connection.)
 *
 * @module
 */

/** The callbacks waiting on each signal that has any, run by its one listener. */
const waiting = new WeakMap<AbortSignal, Set<() => void>>();

/**
 * Calls `callback` once when `signal` aborts, or at once if it already has,
 * unless {@linkcode offAbort} removes it first.
 *
 * @example
 * ```ts
 * import { onAbort } from "./on_abort.ts";
 * import assert from "node:assert/strict";
 *
 * const controller = new AbortController();
 * const calls: string[] = [];
 * onAbort(controller.signal, () => calls.push("first"));
 * onAbort(controller.signal, () => calls.push("last"));
 * controller.abort();
 * controller.abort();
 * assert.deepEqual(calls, ["first", "last"]);
 * onAbort(controller.signal, () => calls.push("after")); // at once
 * assert.deepEqual(calls, ["first", "last", "after"]);
 * ```
 */
export function onAbort(signal: AbortSignal, callback: () => void): void {
  if (signal.aborted) {
    callback();
    return;
  }
  let callbacks = waiting.get(signal);
  if (callbacks === undefined) {
    const added = callbacks = new Set();
    waiting.set(signal, added);
    signal.addEventListener("abort", () => {
      // One at a time, so that a callback that removes a later one is heeded.
      for (const next of added) {
        added.delete(next);
        next();
      }
      waiting.delete(signal);
    }, { once: true });
  }
  callbacks.add(callback);
}

/**
 * Removes a callback {@linkcode onAbort} added, if it has not run yet.
 *
 * @example
 * ```ts
 * import { offAbort, onAbort } from "./on_abort.ts";
 * import assert from "node:assert/strict";
 *
 * const controller = new AbortController();
 * let calls = 0;
 * const count = () => calls++;
 * onAbort(controller.signal, count);
 * offAbort(controller.signal, count);
 * controller.abort();
 * assert.equal(calls, 0);
 * ```
 */
export function offAbort(signal: AbortSignal, callback: () => void): void {
  waiting.get(signal)?.delete(callback);
}
