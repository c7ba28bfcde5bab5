import { pause } from "./pause.ts";

/** The first and the longest pause, in milliseconds. */
const FIRST_MS = 10;
const MAX_MS = 1_000;

/**
 * Pauses between retries of a failing accept, 10 ms at first and twice as
 * long each time after, up to a second, so that a shortage (such as of file
 * descriptors) is not spun on; a success starts it over. Each pause ends at
 * once when the signal aborts, so a back-off never holds up shutdown.
 *
 * @example
 * ```ts
 * import { Backoff } from "./backoff.ts";
 * import assert from "node:assert/strict";
 *
 * const backoff = new Backoff();
 * // In an accept loop: after a shortage, before trying again.
 * let started = performance.now();
 * await backoff.wait(new AbortController().signal); // 10 ms
 * assert.ok(performance.now() - started >= 9);
 * backoff.reset(); // an accept worked
 * started = performance.now();
 * await backoff.wait(AbortSignal.abort()); // shutdown: at once
 * assert.ok(performance.now() - started < 9);
 * ```
 */
export class Backoff {
  #ms = 0;

  /** Waits the next pause, each twice the last, or until `signal` aborts. */
  wait(signal: AbortSignal): Promise<void> {
    this.#ms = Math.min(MAX_MS, 2 * this.#ms || FIRST_MS);
    return pause(this.#ms, signal);
  }

  /** Starts over at the first pause: what failed works again. */
  reset(): void {
    this.#ms = 0;
  }
}
