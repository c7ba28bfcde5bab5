import type { IdleTimeouts } from "../config.ts";
import { isBroken } from "../broken_connection.ts";
import { IdleDeadlines } from "../idle_deadline.ts";
import { ReadBuffer, ReadBufferPool } from "./read_buffers.ts";
import { StreamEnding } from "./stream_ending.ts";

/**
 * The byte stream one echo client is served over. A `Deno.Conn` is one; tests
 * use in-memory streams.
 */
export interface EchoStream {
  /** Reads into `buffer`; the byte count, or null at the end of the stream. */
  read(buffer: Uint8Array): Promise<number | null>;
  /** Writes some of `data`; the number of bytes written. */
  write(data: Uint8Array): Promise<number>;
  /** Closes the stream; pending reads and writes settle. */
  close(): void;
  /** A TLS stream's handshake, which settles once it is done or fails. */
  handshake?(): Promise<unknown>;
}

/**
 * Why an echo connection ends: the client closed its sending side, or closed
 * a TLS connection without TLS's close_notify, as most clients do (`closed`),
 * sent nothing for too long (`idle`), the service is shutting down
 * (`shutdown`), the connection broke, reset by the client or a broken pipe
 * (`reset`), the TLS handshake failed, as it does for a plaintext client
 * (`handshake`), or any other stream error (`error`). With `--proxy-protocol`,
 * also: no valid PROXY protocol header came first (`proxy_header`).
 */
export const ECHO_ENDS = [
  "closed",
  "idle",
  "shutdown",
  "reset",
  "handshake",
  "error",
  "proxy_header",
] as const;

/** Why an echo connection ended: one of {@linkcode ECHO_ENDS}. */
export type EchoEnd = typeof ECHO_ENDS[number];

/** How an echo connection ended. */
export interface EchoResult {
  reason: EchoEnd;
  bytesEchoed: number;
  /**
   * The stream's error, when the reason is `reset`, `handshake` or `error`;
   * what was wrong with the header, for `proxy_header`.
   */
  error?: unknown;
}

/** What {@linkcode handleEchoConnection} needs besides the stream. */
export interface EchoOptions {
  timeouts: IdleTimeouts;
  /** Aborting it ends the connection once the chunk being written is out. */
  signal?: AbortSignal;
  /**
   * Once the signal has aborted, how long writing that chunk may take before
   * the connection is closed anyway, so that a client that does not read
   * cannot hold up shutdown.
   * @default {1000}
   */
  drainMs?: number;
  /**
   * Counts each chunk's bytes once it is written back, so that a long
   * connection's traffic shows as it flows; a metrics counter is one.
   */
  bytesCounter?: { inc(bytes: number): void };
  /**
   * Where the idle deadline is kept: a server shares one among its
   * connections, so that they share timers.
   * @default a set of this connection's own
   */
  deadlines?: IdleDeadlines;
  /**
   * Where reads borrow buffers larger than the connection's own 64 bytes: a
   * server shares one among its connections, so that a burst reuses the
   * buffers of bursts before it.
   * @default a pool of this connection's own
   */
  readBuffers?: ReadBufferPool;
  /**
   * A line sent to the client before any echo (`--banner`), followed by a
   * line feed: after the TLS handshake, under the initial deadline, which it
   * does not move, and not counted as echoed.
   */
  banner?: string;
}

/**
 * Echoes every byte the client sends until it closes, goes idle, or the
 * signal aborts; then closes the stream. Each chunk read is written back
 * completely before the next read, so a connection holds at most one read
 * buffer of client data (64 KiB at most) and a client that does not read is
 * not read from. A read that waits for the client is on the connection's own
 * 64 bytes, whatever the client sent before (see `read_buffers.ts`).
 *
 * The idle deadline starts at `timeouts.initialMs` and moves to
 * `timeouts.refreshMs` after each chunk received; the server's own writes
 * never move it. A stream error (a reset, a broken pipe) ends the connection
 * too: the result says which, and carries the error.
 *
 * A TLS stream's handshake runs first, under the initial deadline, so a
 * client that never starts or finishes it is dropped as `idle`. A client
 * that hangs up before it is done has `closed`; one that fails it, such as a
 * plaintext client, ends as `handshake` and is never echoed. A TLS client
 * that closes without close_notify (openssl s_client, curl and most others
 * do) has `closed` too: Deno reports it as an unexpected end of stream.
 *
 * @example
 * ```ts
 * import { handleEchoConnection } from "./echo.ts";
 * import assert from "node:assert/strict";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const client = await Deno.connect({ port: listener.addr.port });
 * const served = handleEchoConnection(await listener.accept(), {
 *   timeouts: { initialMs: 5_000, refreshMs: 30_000 },
 * });
 * await client.write(new TextEncoder().encode("hey there"));
 * const buffer = new Uint8Array(9);
 * assert.equal(await client.read(buffer), 9);
 * client.close();
 * assert.deepEqual(await served, { reason: "closed", bytesEchoed: 9 });
 * listener.close();
 * ```
 */
export async function handleEchoConnection(
  stream: EchoStream,
  options: EchoOptions,
): Promise<EchoResult> {
  const {
    timeouts,
    signal,
    drainMs = 1_000,
    bytesCounter,
    deadlines = new IdleDeadlines(),
    readBuffers = new ReadBufferPool(),
    banner,
  } = options;
  let writing = false;
  using ending: StreamEnding = new StreamEnding(stream, {
    deadlines,
    timeoutMs: timeouts.initialMs,
    onDeadline: () => ending.end(signal?.aborted ? "shutdown" : "idle"),
    signal,
    onShutdown: () => {
      if (writing) ending.deadline.limit(drainMs);
      else ending.end("shutdown");
    },
  });

  // Disposed once every read and write has settled: it gives back a
  // borrowed buffer.
  using reads = new ReadBuffer(readBuffers);
  let bytesEchoed = 0;
  let handshaking = false;
  try {
    if (stream.handshake !== undefined && !signal?.aborted) {
      handshaking = true;
      await stream.handshake();
      handshaking = false;
    }
    if (banner !== undefined && !signal?.aborted) {
      writing = true;
      await writeAll(stream, new TextEncoder().encode(`${banner}\n`));
      writing = false;
    }
    while (!signal?.aborted) {
      const buffer = reads.current;
      const size = await stream.read(buffer);
      if (size === null) break;
      ending.deadline.reset(timeouts.refreshMs);
      writing = true;
      await writeAll(stream, buffer.subarray(0, size));
      writing = false;
      bytesEchoed += size;
      bytesCounter?.inc(size);
      reads.afterRead(size);
    }
    ending.end(signal?.aborted ? "shutdown" : "closed");
  } catch (error) {
    const reason = failure(error, handshaking);
    ending.end(reason, reason === "closed" ? undefined : error);
  }
  return ending.result(bytesEchoed);
}

/** Why a stream error ended the connection. */
function failure(error: unknown, handshaking: boolean): EchoEnd {
  if (isBroken(error)) return "reset";
  // A client that left: mid-handshake, such as a TCP probe, or after it
  // without TLS's close_notify, as most TLS clients close ("peer closed
  // connection without sending TLS close_notify").
  if (error instanceof Deno.errors.UnexpectedEof) return "closed";
  return handshaking ? "handshake" : "error";
}

async function writeAll(stream: EchoStream, data: Uint8Array): Promise<void> {
  for (let written = 0; written < data.length;) {
    written += await stream.write(data.subarray(written));
  }
}
