import type { LogFields, Logger } from "./log.ts";
import { pause } from "../waiting/pause.ts";

/** What {@linkcode ThrottledLog} needs besides the logger. */
export interface ThrottledLogOptions {
  /**
   * The least time between two lines, in milliseconds.
   * @default {1000}
   */
  intervalMs?: number;
  /**
   * Aborting it writes at once the line held back, if any, so that no timer
   * outlives shutdown.
   */
  signal: AbortSignal;
}

/** A line held back, to be written when the interval is over. */
interface HeldLine {
  level: "info" | "warning";
  message: string;
  fields: LogFields;
}

/**
 * Logs lines of one kind at most once per interval, so a flood of the same
 * event (say, accept failing while descriptors run out) writes one line a
 * second, not one per event. When the interval is over, the latest line held
 * back goes out, its `held_back` field counting the others held back since
 * the line before; so a flood ends with a line, not with silence.
 *
 * @example
 * ```ts
 * import { Logger } from "./log.ts";
 * import { ThrottledLog } from "./throttled_log.ts";
 * import assert from "node:assert/strict";
 *
 * const lines: string[] = [];
 * const logger = new Logger("info", { write: (line) => lines.push(line) });
 * const shutdown = new AbortController();
 * const log = new ThrottledLog(logger, {
 *   intervalMs: 60_000,
 *   signal: shutdown.signal,
 * });
 * for (let i = 1; i <= 3; i++) log.warning("accept failed", { attempt: i });
 * assert.deepEqual(lines, ["warning: accept failed attempt=1"]);
 * shutdown.abort(); // or a minute passes
 * await new Promise((resolve) => setTimeout(resolve, 0));
 * assert.equal(lines[1], "warning: accept failed attempt=3 held_back=1");
 * ```
 */
export class ThrottledLog {
  #logger: Logger;
  #intervalMs: number;
  #signal: AbortSignal;
  #quietUntil = -Infinity;
  /** Lines not written since the last one written. */
  #heldBack = 0;
  /** The latest of them, written when the interval is over. */
  #latest?: HeldLine;

  /**
   * A throttle with nothing held back yet: the first line goes out at once.
   *
   * @param logger where the lines go
   * @param options the interval, and the signal that ends it early
   */
  constructor(logger: Logger, options: ThrottledLogOptions) {
    this.#logger = logger;
    this.#intervalMs = options.intervalMs ?? 1_000;
    this.#signal = options.signal;
  }

  /** Logs at info level, unless a line went out less than the interval ago. */
  info(message: string, fields: LogFields = {}): void {
    this.#log({ level: "info", message, fields });
  }

  /** Logs a warning, unless a line went out less than the interval ago. */
  warning(message: string, fields: LogFields = {}): void {
    this.#log({ level: "warning", message, fields });
  }

  #log(line: HeldLine): void {
    // A level that is off holds nothing back and starts no timer.
    if (!this.#logger.isEnabled(line.level)) return;
    const now = performance.now();
    if (now >= this.#quietUntil) return this.#write(line);
    if (this.#latest === undefined) {
      pause(this.#quietUntil - now, this.#signal).then(this.#writeLatest);
    }
    this.#latest = line;
    this.#heldBack++;
  }

  #writeLatest = (): void => {
    const latest = this.#latest!;
    this.#latest = undefined;
    this.#heldBack--;
    this.#write(latest);
  };

  #write({ level, message, fields }: HeldLine): void {
    this.#logger[level](
      message,
      this.#heldBack > 0 ? { ...fields, held_back: this.#heldBack } : fields,
    );
    this.#quietUntil = performance.now() + this.#intervalMs;
    this.#heldBack = 0;
  }
}
