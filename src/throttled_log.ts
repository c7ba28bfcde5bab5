import type { Logger } from "./log.ts";

/**
 * Logs warnings of one kind at most once per interval, so a flood of the same
 * failure (say, accept failing while descriptors run out) writes one line a
 * second, not one per failure. The next line that goes out counts those held
 * back.
 *
 * @example
 * ```ts
 * import { Logger } from "./log.ts";
 * import { ThrottledLog } from "./throttled_log.ts";
 * import assert from "node:assert/strict";
 *
 * const lines: string[] = [];
 * const log = new ThrottledLog(new Logger("info", (line) => lines.push(line)), 60_000);
 * for (let i = 0; i < 3; i++) log.warning("accept: Too many open files");
 * assert.deepEqual(lines, ["warning: accept: Too many open files"]);
 * ```
 */
export class ThrottledLog {
  #logger: Logger;
  #intervalMs: number;
  #quietUntil = -Infinity;
  #heldBack = 0;

  /**
   * @param logger where the lines go
   * @param intervalMs the least time between two lines
   */
  constructor(logger: Logger, intervalMs: number) {
    this.#logger = logger;
    this.#intervalMs = intervalMs;
  }

  /** Logs a warning, unless one went out less than the interval ago. */
  warning(message: string): void {
    const now = performance.now();
    if (now < this.#quietUntil) {
      this.#heldBack++;
      return;
    }
    const heldBack = this.#heldBack > 0
      ? ` (and ${this.#heldBack} more like it since the last)`
      : "";
    this.#logger.warning(message + heldBack);
    this.#quietUntil = now + this.#intervalMs;
    this.#heldBack = 0;
  }
}
