import FakeTimers from "@sinonjs/fake-timers";

/**
 * Fake time for tests, shaped like `FakeTime` from `@std/testing/time` (which
 * lives on JSR, out of our reach): construct it to install, `tickAsync` to
 * move the clock and run what falls due, `restore` (or `using`) to uninstall.
 * Timers and both clocks (`Date`, `performance.now`) are faked; I/O is real.
 */
export class FakeTime implements Disposable {
  #clock = FakeTimers.install({
    toFake: ["setTimeout", "clearTimeout", "Date", "performance"],
  });

  /** Moves the clock `ms` forward, running timers and promise jobs on the way. */
  async tickAsync(ms: number): Promise<void> {
    await this.#clock.tickAsync(ms);
  }

  /** Milliseconds since the fake clock was installed. */
  get now(): number {
    return this.#clock.now;
  }

  /** Puts the real timers and clocks back. */
  restore(): void {
    this.#clock.uninstall();
  }

  [Symbol.dispose](): void {
    this.restore();
  }
}
