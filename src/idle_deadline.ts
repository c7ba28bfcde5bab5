/** The longest delay a timer takes; a longer one would fire at once. */
const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/**
 * A deadline that calls `onExpire` once, when it passes. Moving it later costs
 * one clock read: the timer is re-armed only when it fires early or when the
 * deadline moves earlier, so a busy connection does not churn timers.
 *
 * @example
 * ```ts
 * import { IdleDeadline } from "./idle_deadline.ts";
 *
 * const deadline = new IdleDeadline(5_000, () => console.log("idle"));
 * deadline.reset(30_000); // a chunk arrived: 30 s from now
 * deadline.clear(); // the connection ended first
 * ```
 */
export class IdleDeadline {
  #expiresAt: number;
  #timerFiresAt = Infinity;
  #timer?: ReturnType<typeof setTimeout>;
  #onExpire: () => void;

  /**
   * @param ms milliseconds from now until the deadline
   * @param onExpire called once when the deadline passes
   */
  constructor(ms: number, onExpire: () => void) {
    this.#onExpire = onExpire;
    this.#expiresAt = performance.now() + ms;
    this.#arm();
  }

  /** Moves the deadline to `ms` milliseconds from now. */
  reset(ms: number): void {
    this.#expiresAt = performance.now() + ms;
    if (this.#expiresAt < this.#timerFiresAt) this.#arm();
  }

  /** Moves the deadline to `ms` milliseconds from now if that is sooner. */
  limit(ms: number): void {
    if (performance.now() + ms < this.#expiresAt) this.reset(ms);
  }

  /** Cancels the deadline: `onExpire` will not be called. */
  clear(): void {
    clearTimeout(this.#timer);
  }

  #arm(): void {
    clearTimeout(this.#timer);
    const now = performance.now();
    // Never negative: a timer can fire a hair before the clock says it is due.
    const delay = Math.min(
      Math.max(0, this.#expiresAt - now),
      MAX_TIMER_DELAY_MS,
    );
    this.#timerFiresAt = now + delay;
    this.#timer = setTimeout(this.#fire, delay);
  }

  #fire = (): void => {
    if (performance.now() >= this.#expiresAt) this.#onExpire();
    else this.#arm();
  };
}
