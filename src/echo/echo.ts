/**
 * Serving one echo client: read a chunk, write all of it back, read again.
 *
 * ```text
 *   handshake (TLS) ─► read ─► deadline moved ─► write it all back ─┐
 *                       ▲                                           │
 *                       └───────────────────────────────────────────┘
 * ```
 *
 * The loop holds one chunk at a time: it reads again only once the last one
 * is written back, so a client that does not read is not read from, and a
 * connection holds one read buffer of its data, 64 bytes while it waits
 * (`net/read_buffers.ts`). The loop does not decide alone how the connection
 * ends: a {@linkcode StreamEnding} (`stream_ending.ts`) watches the idle
 * deadline and shutdown beside it, and whichever end comes first closes the
 * stream, which cuts short the read or write the loop waits on. The deadline
 * is one of the server's `Deadlines`, which keep one timer per duration for
 * all its connections: a chunk costs a clock read and a move to the end of a
 * list, and an idle client no timer of its own.
 *
 * @module
 */
import { isBroken } from "../net/broken_connection.ts";
import { Deadlines } from "../waiting/deadlines.ts";
import { ReadBuffer, ReadBufferPool } from "../net/read_buffers.ts";
import { StreamEnding } from "./stream_ending.ts";
import type { EchoEnd, EchoResult, EchoStream } from "./echo_stream.ts";

/** How long a silent echo connection may stay open. */
export interface IdleTimeouts {
  /** Milliseconds a new connection may wait before it sends anything. */
  initialMs: number;
  /** Milliseconds a connection may stay silent after each chunk it sends. */
  refreshMs: number;
}

/** What {@linkcode handleEchoConnection} needs besides the stream. */
export interface EchoOptions {
  /** How long the client may stay silent, at first and after each chunk. */
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
  deadlines?: Deadlines;
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
 * 64 bytes, whatever the client sent before (see `net/read_buffers.ts`).
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
    deadlines = new Deadlines(),
    readBuffers = new ReadBufferPool(),
    banner,
  } = options;
  using ending = new StreamEnding(stream, {
    deadlines,
    timeoutMs: timeouts.initialMs,
    signal,
    drainMs,
  });
  // Disposed once every read and write has settled: it gives back a
  // borrowed buffer.
  using reads = new ReadBuffer(readBuffers);
  let bytesEchoed = 0;
  let handshaking = false;
  try {
    if (stream.handshake !== undefined && !ending.ended) {
      handshaking = true;
      await stream.handshake();
      handshaking = false;
    }
    if (banner !== undefined && !ending.ended) {
      await ending.write(new TextEncoder().encode(`${banner}\n`));
    }
    while (!ending.ended) {
      const buffer = reads.current;
      const size = await stream.read(buffer);
      if (size === null) break;
      ending.deadline.reset(timeouts.refreshMs);
      await ending.write(buffer.subarray(0, size));
      bytesEchoed += size;
      bytesCounter?.inc(size);
      reads.afterRead(size);
    }
    ending.end("closed");
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
