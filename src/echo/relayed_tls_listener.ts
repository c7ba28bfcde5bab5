/**
 * A TLS listener whose clients' sockets the service owns, so that a client
 * that never finishes its handshake is really gone at its deadline.
 *
 * Deno 2.9 frees a `Deno.listenTls` socket mid-handshake only once the client
 * speaks or leaves, whatever the server does: `close()` leaves the descriptor
 * open. So the public port is a plain TCP listener, and each client is
 * relayed (`src/net/relay.ts`) to a TLS listener on 127.0.0.1 inside the process.
 * Closing a client closes its relay too, and the inner TLS socket then sees
 * its peer leave, which Deno does free. Each client costs three descriptors:
 * its own, the relay's and the inner TLS socket.
 *
 * @module
 */
import type { ListenAddress } from "../net/net_addr.ts";
import { type Deadline, Deadlines } from "../waiting/deadlines.ts";
import { ReadBufferPool } from "../net/read_buffers.ts";
import { Relay } from "../net/relay.ts";
import type { EchoConn, EchoListener } from "./echo_stream.ts";

/** What {@linkcode listenTlsRelayed} needs besides the address and the pair. */
export interface RelayedTlsOptions {
  /**
   * Once a client's TLS stream is closed, how long what it last wrote may
   * take to reach a client that reads slowly, or not at all, before the
   * relay is cut; the same bound, from then, for every client once the
   * listener closes.
   * @default {1000}
   */
  drainMs?: number;
}

/** A {@linkcode EchoListener} over TLS, bound to a public address. */
export interface RelayedTlsListener extends EchoListener {
  /** The public address, with the real port. */
  readonly addr: Deno.NetAddr;
  /**
   * The inner TLS listener's address, on 127.0.0.1: only the relays should
   * connect to it, and anything else that does is closed.
   */
  readonly innerAddr: Deno.NetAddr;
  /** The next client, its handshake not yet begun. */
  accept(): Promise<RelayedTlsConn>;
}

/**
 * Listens on `address` for TLS clients with the `tls` pair, as
 * `Deno.listenTls` does, but with each client relayed through a socket the
 * service owns (see the module doc). A connection it accepts gives the
 * client's own address as `remoteAddr`, and its `close()` frees all three
 * descriptors once what was written has reached the client, and the inner
 * socket has seen the relay leave: within `drainMs` at most, even for a
 * client that never finished its handshake or does not read.
 *
 * Only the relays may reach the inner TLS listener (on 127.0.0.1, any free
 * port): any other connection to it, which only a local process can make,
 * is closed as soon as it is accepted.
 *
 * @throws what `Deno.listen` or `Deno.listenTls` throws when it cannot listen
 *
 * @example
 * ```ts
 * import { listenTlsRelayed } from "./relayed_tls_listener.ts";
 * import { CERTIFICATE } from "../../tests/_certificates.ts";
 * import assert from "node:assert/strict";
 *
 * const listener = listenTlsRelayed({ hostname: "127.0.0.1", port: 0 }, CERTIFICATE);
 * const client = await Deno.connectTls({ port: listener.addr.port, caCerts: [CERTIFICATE.cert] });
 * const conn = await listener.accept();
 * assert.equal(conn.remoteAddr.port, client.localAddr.port);
 * await conn.handshake();
 * await conn.write(new TextEncoder().encode("hi"));
 * conn.close();
 * assert.equal(await new Response(client.readable).text(), "hi");
 * await conn.closed;
 * listener.close();
 * ```
 */
export function listenTlsRelayed(
  address: ListenAddress,
  tls: Deno.TlsCertifiedKeyPem,
  options: RelayedTlsOptions = {},
): RelayedTlsListener {
  const outer = Deno.listen({ ...address, transport: "tcp" });
  try {
    const inner = Deno.listenTls({ hostname: "127.0.0.1", port: 0, ...tls });
    return new Listener(outer, inner, options.drainMs ?? 1_000);
  } catch (error) {
    outer.close();
    throw error;
  }
}

class Listener implements RelayedTlsListener {
  readonly addr: Deno.NetAddr;
  readonly innerAddr: Deno.NetAddr;
  #outer: Deno.TcpListener;
  #inner: Deno.TlsListener;
  #drainMs: number;
  #deadlines = new Deadlines();
  /** Where the relays borrow their larger read buffers. */
  #readBuffers = new ReadBufferPool();
  /** Every connection whose relay has not ended yet. */
  #open = new Set<RelayedTlsConn>();

  constructor(
    outer: Deno.TcpListener,
    inner: Deno.TlsListener,
    drainMs: number,
  ) {
    this.#outer = outer;
    this.#inner = inner;
    this.#drainMs = drainMs;
    this.addr = outer.addr;
    this.innerAddr = inner.addr;
  }

  async accept(): Promise<RelayedTlsConn> {
    const client = await this.#outer.accept();
    let relayed: Deno.TcpConn | undefined;
    try {
      relayed = await Deno.connect({
        hostname: "127.0.0.1",
        port: this.innerAddr.port,
      });
      const tls = await this.#acceptRelayed(relayed.localAddr.port);
      const conn = new RelayedTlsConn(
        client.remoteAddr,
        tls,
        new Relay(client, relayed, { readBuffers: this.#readBuffers }),
        (ms) => this.#deadlines.set(ms, () => conn.cut()),
        this.#drainMs,
      );
      this.#open.add(conn);
      conn.closed.then(() => this.#open.delete(conn));
      return conn;
    } catch (error) {
      client.close();
      relayed?.close();
      throw error;
    }
  }

  close(): void {
    this.#outer.close();
    this.#inner.close();
    for (const conn of this.#open) conn.drainWithin(this.#drainMs);
  }

  /** The inner connection from the relay's `port`; any other is closed. */
  async #acceptRelayed(port: number): Promise<Deno.TlsConn> {
    while (true) {
      const conn = await this.#inner.accept();
      if (conn.remoteAddr.port === port) return conn;
      conn.close();
    }
  }
}

/**
 * One relayed TLS client: reads and writes go to the inner TLS stream, and
 * closing it ends the relay too.
 */
export class RelayedTlsConn implements EchoConn {
  /** The client's own address, not the relay's. */
  readonly remoteAddr: Deno.NetAddr;
  /** Settles once every descriptor of the client is closed. */
  readonly closed: Promise<void>;
  #tls: Deno.TlsConn;
  #relay: Relay;
  #setDeadline: (ms: number) => Deadline;
  #drainMs: number;
  #closed = false;
  #ended = false;
  #drain?: Deadline;

  /**
   * Wraps the inner TLS stream of a client that `relay` relays.
   *
   * @param remoteAddr the client's address
   * @param tls the inner TLS stream
   * @param relay the relay between the client and `tls`
   * @param setDeadline sets a deadline that cuts the relay
   * @param drainMs how long the relay may drain once closed
   */
  constructor(
    remoteAddr: Deno.NetAddr,
    tls: Deno.TlsConn,
    relay: Relay,
    setDeadline: (ms: number) => Deadline,
    drainMs: number,
  ) {
    this.remoteAddr = remoteAddr;
    this.#tls = tls;
    this.#relay = relay;
    this.#setDeadline = setDeadline;
    this.#drainMs = drainMs;
    this.closed = relay.closed.then(() => {
      this.#ended = true;
      this.#drain?.clear();
    });
  }

  /** Whether any byte has come from the client yet, handshake included. */
  get heard(): boolean {
    return this.#relay.heardFromClient;
  }

  read(buffer: Uint8Array): Promise<number | null> {
    return this.#tls.read(buffer);
  }

  write(data: Uint8Array): Promise<number> {
    return this.#tls.write(data);
  }

  /** The TLS handshake; settles once it is done, or rejects. */
  handshake(): Promise<Deno.TlsHandshakeInfo> {
    return this.#tls.handshake();
  }

  /**
   * Closes the TLS stream, once however often called. The relay hears the
   * client no more and ends its stream to the inner socket, which Deno then
   * closes even mid-handshake (its peer has left); the relay hands on what
   * was written, and ends, within the drain bound at most.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#tls.close();
    this.#relay.finish();
    this.drainWithin(this.#drainMs);
  }

  /** Cuts the relay at once, freeing every descriptor. */
  cut(): void {
    this.#relay.close();
  }

  /** Cuts the relay `ms` from now, unless it ends or is to be cut sooner. */
  drainWithin(ms: number): void {
    if (this.#ended) return;
    if (this.#drain === undefined) this.#drain = this.#setDeadline(ms);
    else this.#drain.limit(ms);
  }
}
