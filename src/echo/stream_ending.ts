/**
 * How one client's stream ends. Three things can end it, and the first one
 * wins:
 *
 * ```text
 *   deadline passes ──► idle, or what onDeadline says ──┐
 *   shutdown ─────────► shutdown: at once, or once the  ├─► end(reason): the first reason
 *                       write in flight is out, within  │   is kept, the stream closes,
 *                       drainMs                         │   and the read or write in
 *   the serving code ─► closed, reset, error... ────────┘   flight settles
 * ```
 *
 * Every later end is ignored, so the error that the close itself causes in a
 * pending read is never taken for the reason. The code serving the stream
 * needs no timer and no check of the clock or the signal while it waits: the
 * close cuts its wait short, and {@linkcode StreamEnding.result} says why.
 *
 * @module
 */
import { offAbort, onAbort } from "../waiting/on_abort.ts";
import type { EchoEnd, EchoResult, EchoStream } from "./echo_stream.ts";
import type { Deadline, Deadlines } from "../waiting/deadlines.ts";

/** What a {@linkcode StreamEnding} watches besides the code serving it. */
export interface StreamEndingOptions {
  /** The set the deadline joins: a server's connections share one. */
  deadlines: Deadlines;
  /** Milliseconds from now to the first deadline. */
  timeoutMs: number;
  /**
   * Called when the deadline passes before shutdown, to end the stream.
   * @default {(ending) => ending.end("idle")}
   */
  onDeadline?: (ending: StreamEnding) => void;
  /** Shutdown: the stream ends when it aborts. */
  signal?: AbortSignal;
  /**
   * Once the signal has aborted, how long a write in flight
   * ({@linkcode StreamEnding.write}) may take before the stream ends anyway,
   * so that a client that does not read cannot hold up shutdown.
   * @default {0}
   */
  drainMs?: number;
}

/**
 * How one client's stream ends: by its deadline, by shutdown or by the code
 * serving it, whichever comes first (see the module doc). The first
 * {@linkcode end} closes the stream; later ones do nothing. Disposing of it
 * clears the deadline and stops waiting for shutdown.
 *
 * @example
 * ```ts
 * import { StreamEnding } from "./stream_ending.ts";
 * import { Deadlines } from "../waiting/deadlines.ts";
 * import assert from "node:assert/strict";
 *
 * let closed = 0;
 * const stream = { read: () => Promise.resolve(null), write: () => Promise.resolve(0), close: () => closed++ };
 * {
 *   using ending = new StreamEnding(stream, { deadlines: new Deadlines(), timeoutMs: 5_000 });
 *   ending.end("closed");
 *   ending.end("error", new Error("after the close"));
 *   assert.deepEqual(ending.result(0), { reason: "closed", bytesEchoed: 0 });
 * }
 * assert.equal(closed, 1);
 * ```
 */
export class StreamEnding implements Disposable {
  /** The deadline, to move as the client is heard from. */
  readonly deadline: Deadline;
  readonly #stream: EchoStream;
  readonly #onDeadline: (ending: StreamEnding) => void;
  readonly #signal?: AbortSignal;
  readonly #drainMs: number;
  #reason?: EchoEnd;
  #error?: unknown;
  /** Whether {@linkcode write} is under way: shutdown then waits for it. */
  #writing = false;

  /**
   * Sets the stream's first deadline and starts watching for shutdown.
   *
   * @param stream the client's stream, which the first end closes
   * @param options the deadline, shutdown, and how long a write may drain
   */
  constructor(stream: EchoStream, options: StreamEndingOptions) {
    const {
      deadlines,
      timeoutMs,
      onDeadline = (ending) => ending.end("idle"),
      signal,
      drainMs = 0,
    } = options;
    this.#stream = stream;
    this.#onDeadline = onDeadline;
    this.#signal = signal;
    this.#drainMs = drainMs;
    this.deadline = deadlines.set(timeoutMs, this.#deadlinePassed);
    if (signal) onAbort(signal, this.#shutdown);
  }

  /** Whether the stream has ended. */
  get ended(): boolean {
    return this.#reason !== undefined;
  }

  /** Ends the stream for `reason`, and closes it, unless it has ended. */
  end(reason: EchoEnd, error?: unknown): void {
    if (this.#reason !== undefined) return;
    this.#reason = reason;
    this.#error = error;
    this.#stream.close();
  }

  /**
   * Writes all of `data` to the stream. Shutdown meanwhile lets the write
   * finish, within `drainMs`, and then ends the stream.
   */
  async write(data: Uint8Array): Promise<void> {
    this.#writing = true;
    for (let written = 0; written < data.length;) {
      written += await this.#stream.write(data.subarray(written));
    }
    this.#writing = false;
    if (this.#signal?.aborted) this.end("shutdown");
  }

  /** The result of the ended stream, once `bytesEchoed` were echoed. */
  result(bytesEchoed: number): EchoResult {
    const reason = this.#reason!;
    return this.#error === undefined
      ? { reason, bytesEchoed }
      : { reason, bytesEchoed, error: this.#error };
  }

  /** Clears the deadline and stops waiting for shutdown. */
  [Symbol.dispose](): void {
    this.deadline.clear();
    if (this.#signal) offAbort(this.#signal, this.#shutdown);
  }

  #deadlinePassed = (): void => {
    // Once shutdown has begun, the deadline is the drain's.
    if (this.#signal?.aborted) this.end("shutdown");
    else this.#onDeadline(this);
  };

  #shutdown = (): void => {
    // A write in flight may finish within the drain; anything else ends now.
    if (this.#writing) this.deadline.limit(this.#drainMs);
    else this.end("shutdown");
  };
}
