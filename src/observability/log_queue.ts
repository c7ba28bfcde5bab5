import { formatLogLine } from "./log.ts";
import { pause } from "../waiting/pause.ts";

/**
 * Log lines on their way to standard error, so that a reader that stops
 * reading never stops the service.
 *
 * A synchronous write to a full pipe blocks the whole event loop until
 * someone reads it. Here `push` only copies the line into a fixed buffer and
 * an async loop writes that buffer out with `Deno.stderr.write`, which waits
 * without blocking. While one batch is being written, new lines gather in a
 * second buffer of the same size and go out together in the next write.
 * When that buffer is full, new lines are dropped whole (never cut, never
 * interleaved), counted, and once the reader has caught up one line says how
 * many were lost. Memory stays fixed: two buffers of `capacityBytes`.
 *
 * Why not LogTape (2.4): its non-blocking stream sink drops the oldest lines,
 * not the newest; `fromAsyncSink` can drop the newest, but writes one line per
 * write, reports drops on a timer rather than on catching up, and like all of
 * LogTape is configured once per process, while the service keeps its own
 * line format and tests pass each server a logger of their own.
 *
 * @module
 */

/** Bytes of lines that may wait for standard error: about 2,500 `connection ended` lines. */
export const LOG_QUEUE_BYTES = 256 * 1024;

/** What a {@linkcode LogQueue} needs; every field has a default. */
export interface LogQueueOptions {
  /**
   * Bytes of lines, newlines included, that may wait while a write is in
   * flight; a line that does not fit is dropped.
   * @default {LOG_QUEUE_BYTES}
   */
  capacityBytes?: number;
  /**
   * Writes some of `bytes` and resolves to how many it wrote.
   * @default {Deno.stderr.write}
   */
  write?: (bytes: Uint8Array) => Promise<number>;
  /** Called with the number of lines dropped, such as to count them in metrics. */
  onDrop?: (lines: number) => void;
  /**
   * The line written once the reader catches up after `count` lines were dropped.
   * @default a text-format warning, `warning: log lines dropped ... count=N`
   */
  droppedLine?: (count: number) => string;
}

/** The message of the line that reports dropped lines. */
export const DROPPED_MESSAGE =
  "log lines dropped: standard error was not read in time";

const NEWLINE = 0x0a;

/**
 * A bounded, non-blocking queue of log lines; see the module comment.
 *
 * @example
 * ```ts
 * import { LogQueue } from "./log_queue.ts";
 * import { Logger } from "./log.ts";
 * import assert from "node:assert/strict";
 *
 * let written = "";
 * const queue = new LogQueue({
 *   write: (bytes) => {
 *     written += new TextDecoder().decode(bytes);
 *     return Promise.resolve(bytes.length);
 *   },
 * });
 * const logger = new Logger("info", { write: (line) => queue.push(line) });
 * logger.info("connection ended", { client: 1 });
 * logger.info("connection ended", { client: 2 });
 * assert.equal(written, ""); // nothing is written while the caller runs
 * assert.equal(await queue.flush(1_000), true);
 * assert.equal(written, "info: connection ended client=1\ninfo: connection ended client=2\n");
 * ```
 */
export class LogQueue {
  readonly #write: (bytes: Uint8Array) => Promise<number>;
  readonly #onDrop: (lines: number) => void;
  readonly #droppedLine: (count: number) => string;
  readonly #encoder = new TextEncoder();
  /** Where new lines go, and how many bytes and lines it holds. */
  #filling: Uint8Array;
  #filledBytes = 0;
  #filledLines = 0;
  /** The buffer being written, or free to swap in. */
  #spare: Uint8Array;
  /** Lines dropped since the last report of them. */
  #unreported = 0;
  /** The write loop while it runs. */
  #writing: Promise<void> | undefined;

  /**
   * An empty queue, with its two buffers.
   *
   * @param options the bound, where lines go and how drops are reported
   */
  constructor(options: LogQueueOptions = {}) {
    const {
      capacityBytes = LOG_QUEUE_BYTES,
      write = (bytes) => Deno.stderr.write(bytes),
      onDrop = () => {},
      droppedLine = (count) =>
        formatLogLine("text", "warning", DROPPED_MESSAGE, { count }),
    } = options;
    this.#filling = new Uint8Array(capacityBytes);
    this.#spare = new Uint8Array(capacityBytes);
    this.#write = write;
    this.#onDrop = onDrop;
    this.#droppedLine = droppedLine;
  }

  /**
   * Queues one line (without its newline) and returns at once; the line is
   * dropped and counted if the queue has no room for all of it.
   */
  push(line: string): void {
    if (!this.#append(line)) {
      this.#unreported++;
      this.#onDrop(1);
      return;
    }
    this.#writing ??= this.#writeQueued();
  }

  /**
   * Resolves `true` once every line queued so far is written, or `false`
   * after `timeLimitMs` if the reader is too slow or gone: an exit waits for
   * the last lines, but not forever.
   */
  async flush(timeLimitMs: number): Promise<boolean> {
    const settled = new AbortController();
    try {
      return await Promise.race([
        this.#written().then(() => true),
        pause(timeLimitMs, settled.signal).then(() => false),
      ]);
    } finally {
      settled.abort();
    }
  }

  async #written(): Promise<void> {
    while (this.#writing !== undefined || this.#filledLines > 0) {
      this.#writing ??= this.#writeQueued();
      await this.#writing;
    }
  }

  /** Copies `line` and a newline into the filling buffer, if both fit. */
  #append(line: string): boolean {
    const room = this.#filling.subarray(this.#filledBytes);
    const { read, written } = this.#encoder.encodeInto(line, room);
    if (read < line.length || written === room.length) return false;
    room[written] = NEWLINE;
    this.#filledBytes += written + 1;
    this.#filledLines++;
    return true;
  }

  /** Writes batch after batch until nothing is queued or a write fails. */
  async #writeQueued(): Promise<void> {
    // Lines pushed in the same task as the first one join its batch.
    await Promise.resolve();
    try {
      while (this.#filledLines > 0) {
        const batch = this.#filling.subarray(0, this.#filledBytes);
        const lines = this.#filledLines;
        [this.#filling, this.#spare] = [this.#spare, this.#filling];
        this.#filledBytes = 0;
        this.#filledLines = 0;
        try {
          for (let done = 0; done < batch.length;) {
            done += await this.#write(batch.subarray(done));
          }
        } catch {
          // Standard error is closed or broken: these lines are lost. The
          // next push tries again; the report waits for a write that works.
          this.#unreported += lines;
          this.#onDrop(lines);
          return;
        }
        if (this.#filledLines === 0 && this.#unreported > 0) {
          this.#append(this.#droppedLine(this.#unreported));
          this.#unreported = 0;
        }
      }
    } finally {
      this.#writing = undefined;
    }
  }
}
