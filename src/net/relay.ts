/**
 * A relay between a client's connection and a connection to a server inside
 * the process: the service owns the client's socket, and so can close it at
 * a deadline of its own, which `Deno.listenTls` and `Deno.serve` cannot.
 *
 * Bytes go both ways as they come, each way read into a {@linkcode ReadBuffer},
 * as echo connections read: the relay's own 512 bytes while it waits, and
 * larger buffers borrowed from a pool the relays share while reads fill them
 * (`read_buffers.ts`), so that an idle relay costs the same however much it
 * carried before. Each write goes out at once (`TCP_NODELAY`): what one read
 * of a grown buffer would pass on in one write may take three reads and
 * three writes, and Nagle's algorithm would hold the last one back until the
 * peer acknowledged the others, which a peer waiting for the rest of an
 * answer delays by 40 ms. The client's end of
 * stream is passed on as one (a half-close), so the server still answers;
 * the server's ends the relay. Either way failing closes both.
 *
 * @module
 */
import { ReadBuffer, ReadBufferPool } from "./read_buffers.ts";

/**
 * The buffer each way of a relay owns, which every read that waits holds.
 * A relay's usual message is larger than the short line an echo connection's
 * own 64 bytes are for: a `/healthcheck` answer (about 140 bytes), a small
 * WebSocket frame (70 bytes for a 64-byte message), a TLS record of a short
 * line. On 64 bytes each took two reads, two writes and a borrow from the
 * pool; on 512 it takes one read and one write, which saves about 4 µs of
 * server CPU per `/healthcheck` (18.8 to 14-15 µs) and 300 µs of WebSocket
 * echo's median round trip (`docs/performance.md`). It costs 2 x 512 bytes
 * per idle relayed client instead of 2 x 64, beside the 39 KiB an idle TLS
 * echo client takes and the 60 KiB of an idle WebSocket.
 */
const OWN_READ_BUFFER_SIZE = 512;

/** One side of a relay: a `Deno.Conn` is one. */
export interface RelayedConn {
  /** Reads into `buffer`; the byte count, or null at the end of the stream. */
  read(buffer: Uint8Array): Promise<number | null>;
  /** Writes some of `data`; the number of bytes written. */
  write(data: Uint8Array): Promise<number>;
  /** Ends the sending side: the peer reads an end of stream. */
  closeWrite(): Promise<void>;
  /** Closes the connection; pending reads and writes settle. */
  close(): void;
  /** Sends each write at once, as a `Deno.TcpConn` can. */
  setNoDelay?(noDelay: boolean): void;
}

/** How a relay ended. */
export interface RelayEnd {
  /** The error that ended it, when a read or write failed before any close. */
  error?: unknown;
}

/** What {@linkcode Relay} needs besides the two connections. */
export interface RelayOptions {
  /** Called as each chunk from the client arrives, before it is passed on. */
  onClientData?: () => void;
  /**
   * Sees each chunk from the client before it is passed on, and says how
   * many of its first bytes to pass: fewer than all, and the client is heard
   * no more (as after {@linkcode Relay.finish}, but the server reads no end
   * of stream). All of them when not given.
   */
  passClientData?: (data: Uint8Array) => number;
  /**
   * While it returns true the client is not read, so that a client that
   * does not read what the server sends cannot make the server buffer for
   * it: asked before each read from the client, and again as each chunk from
   * the server has reached the client. Never when not given.
   */
  holdClient?: () => boolean;
  /**
   * Where reads borrow buffers larger than the relay's own 512 bytes each way:
   * share one among a listener's relays, so that a burst reuses the buffers
   * of bursts before it.
   * @default a pool of this relay's own
   */
  readBuffers?: ReadBufferPool;
}

/**
 * Copies bytes both ways between `client` and `server` until one of these:
 *
 * - the server ends its stream: once what it sent has reached the client,
 *   both close;
 * - a read or write fails: both close, and {@linkcode closed} carries the
 *   error;
 * - {@linkcode close} is called: both close at once;
 * - {@linkcode finish} is called: the client is heard no more, the server
 *   reads an end of stream, and the relay ends as the server then does.
 *
 * The client's end of stream is passed to the server, which may still
 * answer.
 *
 * @example
 * ```ts
 * import { Relay } from "./relay.ts";
 * import assert from "node:assert/strict";
 *
 * // A server that says "hi" and closes, and a relay in front of it.
 * using server = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * using front = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const client = await Deno.connect({ port: front.addr.port });
 * const relay = new Relay(
 *   await front.accept(),
 *   await Deno.connect({ port: server.addr.port }),
 * );
 * const served = await server.accept();
 * await served.write(new TextEncoder().encode("hi"));
 * served.close();
 * assert.equal(await new Response(client.readable).text(), "hi");
 * assert.deepEqual(await relay.closed, {});
 * ```
 */
export class Relay {
  /** Settles once both connections are closed and nothing is pending. */
  readonly closed: Promise<RelayEnd>;
  readonly #client: RelayedConn;
  readonly #server: RelayedConn;
  readonly #onClientData?: () => void;
  readonly #passClientData?: (data: Uint8Array) => number;
  readonly #holdClient?: () => boolean;
  /** Settles the client's held read, once the hold is released or closed. */
  #release?: () => void;
  readonly #readBuffers: ReadBufferPool;
  #closing = false;
  #ignoring = false;
  #finishing = false;
  #heard = false;
  #error?: unknown;

  /**
   * Starts relaying at once, both ways.
   *
   * @param client the connection a client made to the service
   * @param server the relay's connection to the server inside the process
   * @param options what to tell and ask as the client's bytes arrive, when
   * to hold the client, and where to borrow read buffers
   */
  constructor(
    client: RelayedConn,
    server: RelayedConn,
    options: RelayOptions = {},
  ) {
    this.#client = client;
    this.#server = server;
    client.setNoDelay?.(true);
    server.setNoDelay?.(true);
    this.#onClientData = options.onClientData;
    this.#passClientData = options.passClientData;
    this.#holdClient = options.holdClient;
    this.#readBuffers = options.readBuffers ?? new ReadBufferPool();
    this.closed = Promise.all([this.#fromClient(), this.#toClient()]).then(
      () => this.#error === undefined ? {} : { error: this.#error },
    );
  }

  /** Whether any byte has come from the client yet. */
  get heardFromClient(): boolean {
    return this.#heard;
  }

  /** Whether the client is heard no more: it is ignored, or closed. */
  get ignoringClient(): boolean {
    return this.#ignoring || this.#closing;
  }

  /** Closes both connections now; what is in flight is dropped. */
  close(): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#release?.();
    this.#client.close();
    this.#server.close();
  }

  /**
   * Passes nothing more from the client, and ends the stream to the server,
   * which then finishes what it is sending and closes; the relay ends once
   * that has reached the client.
   */
  finish(): void {
    this.#ignoring = true;
    if (this.#finishing || this.#closing) return;
    this.#finishing = true;
    // A server that has closed already fails it: the relay is ending anyway.
    this.#server.closeWrite().catch(() => {});
  }

  async #fromClient(): Promise<void> {
    const client = this.#client;
    const server = this.#server;
    // Disposed once no read or write uses it: it gives back a borrowed buffer.
    using reads = new ReadBuffer(this.#readBuffers, OWN_READ_BUFFER_SIZE);
    try {
      while (true) {
        // Once closing, the read fails at once: no hold to wait out.
        if (!this.#closing && this.#holdClient?.()) {
          // A held client waits as an idle one does, on the relay's own bytes.
          reads[Symbol.dispose]();
          await this.#held();
        }
        const buffer = reads.current;
        const size = await client.read(buffer);
        if (this.ignoringClient) return;
        if (size === null) break;
        this.#heard = true;
        this.#onClientData?.();
        const passed = this.#passClientData?.(buffer.subarray(0, size)) ??
          size;
        if (passed < size) this.#ignoring = true;
        if (passed > 0) await writeAll(server, buffer, passed);
        if (this.#ignoring) return;
        reads.afterRead(size);
      }
      await server.closeWrite();
    } catch (error) {
      // Once the client is ignored, a write that finish() cut is no fault.
      if (!this.#ignoring) this.#fail(error);
    }
  }

  async #toClient(): Promise<void> {
    const client = this.#client;
    const server = this.#server;
    using reads = new ReadBuffer(this.#readBuffers, OWN_READ_BUFFER_SIZE);
    try {
      while (true) {
        const buffer = reads.current;
        const size = await server.read(buffer);
        if (size === null) break;
        await writeAll(client, buffer, size);
        if (this.#release !== undefined && !this.#holdClient!()) {
          this.#release();
        }
        reads.afterRead(size);
      }
    } catch (error) {
      this.#fail(error);
    }
    this.close();
  }

  /** Settles once the client's hold is released, or the relay closes. */
  #held(): Promise<void> {
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#release = () => {
      this.#release = undefined;
      resolve();
    };
    return promise;
  }

  /** Keeps the first error that came before any close, and closes. */
  #fail(error: unknown): void {
    if (this.#closing) return;
    this.#error = error;
    this.close();
  }
}

/** Writes the first `size` bytes of `buffer`, however many writes it takes. */
async function writeAll(
  conn: RelayedConn,
  buffer: Uint8Array,
  size: number,
): Promise<void> {
  let written = await conn.write(
    size === buffer.length ? buffer : buffer.subarray(0, size),
  );
  while (written < size) {
    written += await conn.write(buffer.subarray(written, size));
  }
}
