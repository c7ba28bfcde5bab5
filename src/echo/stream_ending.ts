import {
  addAbortCallback,
  removeAbortCallback,
} from "../waiting/abort_callbacks.ts";
import type { EchoEnd, EchoResult, EchoStream } from "./echo_stream.ts";
import type { Deadline, Deadlines } from "../waiting/deadlines.ts";

/** What a {@linkcode StreamEnding} watches besides the code serving it. */
export interface StreamEndingOptions {
  /** The set the deadline joins: a server's connections share one. */
  deadlines: Deadlines;
  /** Milliseconds from now to the first deadline. */
  timeoutMs: number;
  /** Called when the deadline passes. */
  onDeadline: () => void;
  /** Shutdown: `onShutdown` is called when it aborts. */
  signal?: AbortSignal;
  /** Called when the signal aborts. */
  onShutdown: () => void;
}

/**
 * How one client's stream ends: by its idle deadline, by shutdown or by the
 * code serving it, whichever comes first. The first {@linkcode end} closes
 * the stream, which settles a read or write in flight, and its reason is
 * the one kept; later ones do nothing, so an error that the close itself
 * causes is not taken for the reason. Disposing of it clears the deadline
 * and stops waiting for shutdown.
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
 *   using ending: StreamEnding = new StreamEnding(stream, {
 *     deadlines: new Deadlines(),
 *     timeoutMs: 5_000,
 *     onDeadline: () => ending.end("idle"),
 *     onShutdown: () => ending.end("shutdown"),
 *   });
 *   ending.end("closed");
 *   ending.end("error", new Error("after the close"));
 *   assert.deepEqual(ending.result(0), { reason: "closed", bytesEchoed: 0 });
 * }
 * assert.equal(closed, 1);
 * ```
 */
export class StreamEnding implements Disposable {
  /** The idle deadline, to move as the client is heard from. */
  readonly deadline: Deadline;
  #reason?: EchoEnd;
  #error?: unknown;
  readonly #stream: EchoStream;
  readonly #signal?: AbortSignal;
  readonly #onShutdown: () => void;

  constructor(stream: EchoStream, options: StreamEndingOptions) {
    const { deadlines, timeoutMs, onDeadline, signal, onShutdown } = options;
    this.#stream = stream;
    this.deadline = deadlines.set(timeoutMs, onDeadline);
    this.#signal = signal;
    this.#onShutdown = onShutdown;
    if (signal) addAbortCallback(signal, onShutdown);
  }

  /** Why the stream ended; undefined until it has. */
  get reason(): EchoEnd | undefined {
    return this.#reason;
  }

  /** Ends the stream for `reason`, and closes it, unless it has ended. */
  end(reason: EchoEnd, error?: unknown): void {
    if (this.#reason !== undefined) return;
    this.#reason = reason;
    this.#error = error;
    this.#stream.close();
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
    if (this.#signal) removeAbortCallback(this.#signal, this.#onShutdown);
  }
}
