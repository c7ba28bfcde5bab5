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
 * assert.equal(await backoff.pause(AbortSignal.abort()), 10);
 * assert.equal(await backoff.pause(AbortSignal.abort()), 20);
 * backoff.reset();
 * assert.equal(await backoff.pause(AbortSignal.abort()), 10);
 * ```
 */
export class Backoff {
  #ms = 0;

  /**
   * Waits the next pause, or until `signal` aborts.
   * @returns the milliseconds it was to wait
   */
  async pause(signal: AbortSignal): Promise<number> {
    this.#ms = Math.min(MAX_MS, 2 * this.#ms || FIRST_MS);
    await pause(this.#ms, signal);
    return this.#ms;
  }

  /** Starts over at the first pause: what failed works again. */
  reset(): void {
    this.#ms = 0;
  }
}
