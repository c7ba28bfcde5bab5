import { stub } from "./_stub.ts";

type Listener = EventListenerOrEventListenerObject;

/**
 * Watches every `AbortSignal.timeout` made while it is installed, fake or
 * real, and says how many still keep the process alive. Deno keeps a process
 * alive for a timeout only while it has not fired and something listens to
 * it, which is how the service's timers let go of the process once they are
 * cancelled. This is a model of that rule, for unit tests on the fake clock;
 * `tests/process_exit_test.ts` checks the real thing, a process that exits.
 *
 * @example
 * ```ts
 * import { TimeoutListeners } from "./_timeout_listeners.ts";
 * import assert from "node:assert/strict";
 *
 * using timeouts = new TimeoutListeners();
 * const listener = () => {};
 * const timeout = AbortSignal.timeout(60_000);
 * timeout.addEventListener("abort", listener);
 * assert.equal(timeouts.keepingAlive, 1);
 * timeout.removeEventListener("abort", listener);
 * assert.equal(timeouts.keepingAlive, 0);
 * ```
 */
export class TimeoutListeners implements Disposable {
  #listeners = new Map<AbortSignal, Set<Listener>>();
  #original = AbortSignal.timeout;
  #stub = stub(AbortSignal, "timeout", (ms: number): AbortSignal => {
    const signal = this.#original.call(AbortSignal, ms);
    const listeners = new Set<Listener>();
    this.#listeners.set(signal, listeners);
    // Each wrapper notes an abort listener in the set, then does its job.
    const note = (
      method: "addEventListener" | "removeEventListener",
      update: (listener: Listener) => void,
    ) => {
      const original = signal[method];
      signal[method] = (
        type: string,
        listener: Listener,
        options?: boolean | AddEventListenerOptions,
      ) => {
        if (type === "abort") update(listener);
        original.call(signal, type, listener, options);
      };
    };
    note("addEventListener", (listener) => listeners.add(listener));
    note("removeEventListener", (listener) => listeners.delete(listener));
    return signal;
  });

  /** How many timeouts were made. */
  get made(): number {
    return this.#listeners.size;
  }

  /** How many timeouts have not fired and still have an abort listener. */
  get keepingAlive(): number {
    return [...this.#listeners].filter(([signal, listeners]) =>
      !signal.aborted && listeners.size > 0
    ).length;
  }

  /** Puts the original `AbortSignal.timeout` back. */
  [Symbol.dispose](): void {
    this.#stub.restore();
  }
}
