import FakeTimers from "@sinonjs/fake-timers";

/**
 * A stand-in for `FakeTime` from `@std/testing/time` (on JSR, out of our
 * reach), over `@sinonjs/fake-timers`, with `@std`'s semantics and the part
 * of its API our tests use. It fakes what `@std`'s fakes and nothing more:
 * `Date`, `setTimeout`, `clearTimeout`, `setInterval`, `clearInterval` and
 * `AbortSignal.timeout`. Like `@std`'s, it leaves `performance.now()` alone
 * (denoland/std#4552): code that reads it sees fake time through a stub.
 */

/** The real timer that `runMicrotasks` waits on, whatever is faked. */
const realSetTimeout = globalThis.setTimeout;
const realAbortSignalTimeout = AbortSignal.timeout;

/** An error from faking time, as `@std/testing/time`'s `TimeError`. */
export class TimeError extends Error {
  override name = "TimeError";
}

/** The installed fake clock; one at a time, as with `@std`'s. */
let installed: FakeTime | undefined;

/**
 * Fake time for tests: construct it to install, `tickAsync` to move the
 * clock and run what falls due, `restore` (or `using`) to uninstall. It starts
 * at the real time unless given a start.
 *
 * @example
 * ```ts
 * import { FakeTime } from "./_fake_time.ts";
 * import assert from "node:assert/strict";
 *
 * using time = new FakeTime();
 * let fired = false;
 * setTimeout(() => fired = true, 1_000);
 * await time.tickAsync(999);
 * assert.equal(fired, false);
 * await time.tickAsync(1);
 * assert.equal(fired, true);
 * ```
 */
export class FakeTime implements Disposable {
  #clock: ReturnType<typeof FakeTimers.install>;
  #start: number;
  /** The part of a millisecond the clock is past its whole `#clock.now`. */
  #fraction = 0;

  /**
   * @param start when the fake clock starts, in milliseconds since the
   * epoch, as a `Date` or as a date string; the real time when not given.
   */
  constructor(start?: number | string | Date | null) {
    installed?.restore();
    this.#start = start instanceof Date
      ? start.valueOf()
      : typeof start === "number"
      ? Math.floor(start)
      : typeof start === "string"
      ? new Date(start).valueOf()
      : Date.now();
    if (Number.isNaN(this.#start)) throw new TimeError("invalid start");
    this.#clock = FakeTimers.install({
      now: this.#start,
      toFake: [
        "Date",
        "setTimeout",
        "clearTimeout",
        "setInterval",
        "clearInterval",
      ],
    });
    AbortSignal.timeout = fakeAbortSignalTimeout;
    installed = this;
  }

  /** When the fake clock started, in milliseconds since the epoch. */
  get start(): number {
    return this.#start;
  }

  /** The fake time, in milliseconds since the epoch. */
  get now(): number {
    return this.#clock.now + this.#fraction;
  }

  /** Moves the clock `ms` forward, running each timer that falls due. */
  tick(ms = 0): void {
    const to = this.now + ms;
    this.#fraction = 0;
    this.#clock.tick(Math.floor(to) - this.#clock.now);
    this.#fraction = to - this.#clock.now;
  }

  /** Lets pending promise jobs run, waiting on a real timer. */
  async runMicrotasks(): Promise<void> {
    await new Promise((resolve) => realSetTimeout(resolve, 0));
  }

  /** Runs pending promise jobs, then moves the clock `ms` forward. */
  async tickAsync(ms = 0): Promise<void> {
    await this.runMicrotasks();
    this.tick(ms);
  }

  /**
   * Moves the clock to the next timer and runs it: whether there was one.
   */
  next(): boolean {
    if (this.#clock.countTimers() === 0) return false;
    this.#fraction = 0;
    this.#clock.next();
    return true;
  }

  /** Puts the real `Date`, timers and `AbortSignal.timeout` back. */
  restore(): void {
    if (installed !== this) throw new TimeError("time already restored");
    installed = undefined;
    this.#clock.uninstall();
    AbortSignal.timeout = realAbortSignalTimeout;
  }

  [Symbol.dispose](): void {
    this.restore();
  }
}

/** `AbortSignal.timeout` on the fake clock, as `@std`'s FakeTime has it. */
function fakeAbortSignalTimeout(ms: number): AbortSignal {
  const controller = new AbortController();
  setTimeout(
    () =>
      controller.abort(new DOMException("Signal timed out.", "TimeoutError")),
    ms,
  );
  return controller.signal;
}
