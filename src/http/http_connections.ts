/**
 * The HTTP port's connections, owned by the service: `Deno.serve` has no
 * header-read or keep-alive timeout and no connection limit, and takes no
 * connection from outside (see `serve_http.ts`). How it works:
 *
 * - The accept loop ({@linkcode HttpConnections.serve}) keeps the limit, and
 *   relays each client (`net/relay.ts`) to the server inside over a
 *   connection of its own, from a port of its own.
 * - The server inside tells each request's handler the address it comes
 *   from: that port names the connection, so the wrapped handler
 *   ({@linkcode HttpConnections.handler}) tells the connection when a
 *   request starts and when its response has been handed over.
 * - Between those, the connection's {@linkcode ConnectionDeadline} switches
 *   between the idle timeout (no request in flight) and the request timeout,
 *   and closes both sockets when one passes. The bytes the relay sees from
 *   the client start a request's deadline before the server has parsed it.
 * - At the limit, the connection that has gone longest with no request in
 *   flight is closed to make room: the set of such connections keeps them in
 *   the order they went idle.
 *
 * @module
 */
import { AcceptFailures } from "../net/accept_failures.ts";
import { isBroken } from "../net/broken_connection.ts";
import { Deadlines } from "../waiting/deadlines.ts";
import type { Logger } from "../observability/log.ts";
import { ThrottledLog } from "../observability/throttled_log.ts";
import { onAbort } from "../waiting/on_abort.ts";
import { ReadBufferPool } from "../net/read_buffers.ts";
import { Relay } from "../net/relay.ts";
import {
  ConnectionDeadline,
  type DeadlineEnd,
  type HttpTimeouts,
} from "./connection_deadline.ts";
import type {
  UpgradableConnection,
  UpgradedConnection,
  UpgradeOptions,
} from "./connection_upgrade.ts";
import { closesConnection, closingResponse, type Handler } from "./handler.ts";
import type { HttpConnectionEnd } from "./connection_ends.ts";
import type { HttpMetrics } from "./http_metrics.ts";
import { FirstRequestHead } from "./request_head_end.ts";

/** What {@linkcode HttpConnections} needs. */
export interface HttpConnectionsOptions {
  /** Shutdown: aborting it closes the listener given to `serve()`. */
  signal: AbortSignal;
  /** Where failed accepts and the limit are told. */
  logger: Logger;
  /** What the connections count. */
  metrics: HttpMetrics;
  /**
   * Connections open at once, not counting those upgraded. A client over the
   * limit takes the place of the connection longest with no request in
   * flight, or is closed at once.
   */
  maxConnections: number;
  /** How long a connection may wait, and a request take. */
  timeouts: HttpTimeouts;
  /** The server inside speaks TLS: the relays then see only ciphertext. */
  tls?: Deno.TlsCertifiedKeyPem;
}

/**
 * The clients of the HTTP port, each relayed to a server inside the process
 * and each with its deadlines (see the module doc and
 * {@linkcode ConnectionDeadline}). A connection counts against the limit from
 * its accept until both of its relay's sockets are closed, or until it is
 * upgraded (see `connection_upgrade.ts`): from then on the new protocol's
 * server keeps its deadline and its limit, and it is never evicted.
 *
 * @example
 * ```ts
 * import { HttpConnections } from "./http_connections.ts";
 * import { Logger } from "../observability/log.ts";
 * import { createHttpMetrics } from "./http_metrics.ts";
 * import assert from "node:assert/strict";
 *
 * const shutdown = new AbortController();
 * const connections = new HttpConnections({
 *   signal: shutdown.signal,
 *   logger: new Logger("warning"),
 *   metrics: createHttpMetrics(),
 *   maxConnections: 512,
 *   timeouts: { idleMs: 5_000, requestMs: 10_000 },
 * });
 * const server = Deno.serve(
 *   { hostname: "127.0.0.1", port: 0, onListen() {} },
 *   connections.handler(() => new Response("ok")),
 * );
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const served = connections.serve(
 *   listener,
 *   () => Deno.connect({ hostname: "127.0.0.1", port: server.addr.port }),
 * );
 * const response = await fetch(`http://127.0.0.1:${listener.addr.port}/`);
 * assert.equal(await response.text(), "ok");
 * shutdown.abort(); // the listener closes
 * await served;
 * const drained = server.shutdown(); // the idle connection closes
 * assert.equal(await connections.closeAll(1_000), 0); // none left to cut
 * await drained;
 * ```
 */
export class HttpConnections {
  #options: HttpConnectionsOptions;
  #deadlines = new Deadlines();
  /** Where the relays borrow their larger read buffers. */
  #readBuffers = new ReadBufferPool();
  /** The open connections by the port their relay connects from. */
  #byRelayPort = new Map<number, HttpConnection>();
  /**
   * The open connections with no request in flight, longest so first: those
   * a new client may take the place of at the limit.
   */
  #evictable = new Set<HttpConnection>();
  /** Connections open: from accept to both closed. */
  #open = 0;
  /** Connections open that have been upgraded: not counted against the limit. */
  #upgraded = 0;
  #allClosedWaiting?: PromiseWithResolvers<void>;

  /**
   * No connection yet: {@linkcode serve} accepts them.
   *
   * @param options the shutdown signal, the limit, the deadlines, the logs
   */
  constructor(options: HttpConnectionsOptions) {
    this.#options = options;
  }

  /**
   * Accepts the clients of `listener` until the signal aborts, then closes
   * it. Each client is relayed to a connection from `connect`, which reaches
   * the server inside the process. At the limit, the connection that has
   * gone longest with no request in flight (silent since its accept, or idle
   * since its last response, or trickling a head) is closed to make room, as
   * its deadline would close it, and counted as evicted; only when every
   * connection has a request in flight is the new client closed at once,
   * counted and logged once a second at most. A failed accept or connect is
   * the accept-failure rule's (`src/net/accept_failures.ts`).
   */
  async serve(
    listener: Deno.Listener,
    connect: () => Promise<Deno.TcpConn>,
  ): Promise<void> {
    const { signal, logger, metrics, maxConnections } = this.#options;
    onAbort(signal, () => listener.close());
    const failures = new AcceptFailures({
      counter: metrics.acceptErrors,
      logger,
      signal,
      message: "http accept failed",
    });
    const rejections = new ThrottledLog(logger, { signal });
    while (!signal.aborted) {
      let client: Deno.Conn;
      let server: Deno.TcpConn;
      try {
        client = await listener.accept();
      } catch (error) {
        // Once aborted this is the closed listener.
        if (signal.aborted) break;
        await failures.failed(error);
        continue;
      }
      const counted = this.#open - this.#upgraded;
      if (counted >= maxConnections && this.#evictOne()) {
        metrics.evicted.inc();
      } else if (counted >= maxConnections) {
        client.close();
        metrics.accepted.inc();
        metrics.rejected.inc();
        rejections.warning("http connection limit reached", {
          max_connections: maxConnections,
        });
        continue;
      }
      try {
        server = await connect();
        failures.succeeded();
      } catch (error) {
        // The server inside is shut down only once this loop has ended.
        client.close();
        await failures.failed(error);
        continue;
      }
      metrics.accepted.inc();
      this.#relay(client, server);
    }
  }

  /**
   * Wraps the handler of the server inside: each request is matched to its
   * connection by the port it comes from, which starts the connection's
   * request deadline and, once the response has been handed over, its idle
   * one. A request from anything but a relay (only a local process can reach
   * the server inside) gets 403. A response from `closingResponse()` closes
   * its connection once handed over: nothing the client sends after that is
   * read, and a request it had pipelined behind gets 503 unrouted. The
   * handler is also given the connection, which it may upgrade (see
   * `connection_upgrade.ts`).
   */
  handler(
    handler: Handler<
      [Deno.ServeHandlerInfo<Deno.NetAddr>, UpgradableConnection]
    >,
  ): (
    request: Request,
    info: Deno.ServeHandlerInfo<Deno.NetAddr>,
  ) => Response | Promise<Response> {
    return (request, info) => {
      const connection = this.#byRelayPort.get(info.remoteAddr.port);
      if (connection === undefined) return closingResponse(403, "forbidden");
      this.#evictable.delete(connection);
      connection.requestStarted();
      const { completed } = info;
      completed.then(connection.requestCompleted, connection.requestCompleted);
      if (connection.closing) {
        return connection.closeAfter(
          request,
          closingResponse(503, "connection closing"),
          completed,
        );
      }
      const response = handler(request, info, connection);
      return response instanceof Promise
        ? response.then((response) =>
          connection.closeAfter(request, response, completed)
        )
        : connection.closeAfter(request, response, completed);
    };
  }

  /**
   * Settles once no connection is open, all descriptors closed, and closes
   * every connection still open `ms` from now: how many it closed so.
   */
  async closeAll(ms: number): Promise<number> {
    let cut = 0;
    const deadline = this.#deadlines.set(ms, () => cut = this.#cutAll());
    await this.#allClosed();
    deadline.clear();
    return cut;
  }

  /** Closes every connection still open at once; how many there were. */
  #cutAll(): number {
    const count = this.#byRelayPort.size;
    for (const connection of this.#byRelayPort.values()) {
      connection.cut("shutdown");
    }
    return count;
  }

  /** Settles once no connection is open, all descriptors closed. */
  #allClosed(): Promise<void> {
    if (this.#open === 0) return Promise.resolve();
    this.#allClosedWaiting ??= Promise.withResolvers();
    return this.#allClosedWaiting.promise;
  }

  /**
   * Brings forward the deadline of the connection that has gone longest with
   * no request in flight, which closes it: whether there was one.
   */
  #evictOne(): boolean {
    const [oldest] = this.#evictable;
    if (oldest === undefined) return false;
    this.#evictable.delete(oldest);
    oldest.evict();
    return true;
  }

  async #relay(client: Deno.Conn, server: Deno.TcpConn): Promise<void> {
    const { signal, metrics, timeouts } = this.#options;
    this.#open++;
    metrics.open.inc();
    const port = server.localAddr.port;
    const connection = new HttpConnection(client, server, {
      deadlines: this.#deadlines,
      readBuffers: this.#readBuffers,
      timeouts,
      encrypted: this.#options.tls !== undefined,
      onIdle: () => this.#evictable.add(connection),
      // Its request's start took it out of #evictable, and it stays out.
      onUpgrade: () => {
        this.#upgraded++;
        metrics.open.dec();
        metrics.ended.inc({ reason: "upgraded" });
      },
    });
    this.#byRelayPort.set(port, connection);
    this.#evictable.add(connection);
    const reason = await connection.ended(signal);
    this.#byRelayPort.delete(port);
    this.#evictable.delete(connection);
    if (connection.upgraded) {
      this.#upgraded--;
    } else {
      metrics.open.dec();
      metrics.ended.inc({ reason });
    }
    if (--this.#open === 0) {
      this.#allClosedWaiting?.resolve();
      this.#allClosedWaiting = undefined;
    }
  }
}

/** One client of the HTTP port, its relay and its deadline. */
class HttpConnection implements UpgradableConnection {
  #client: Deno.Conn;
  #relay: Relay;
  #deadline: ConnectionDeadline;
  #onIdle: () => void;
  #onUpgrade: () => void;
  /**
   * Where the first request's head ends, and what came after it, until it is
   * upgraded: a request after the first came after it.
   */
  #firstHead? = new FirstRequestHead();
  /** How the client is read once upgraded; none before. */
  #upgrade?: UpgradeOptions;
  /** Whether the client's bytes are TLS, which the relay cannot read. */
  #encrypted: boolean;
  /** Why the service closed it, when it did: a deadline, or shutdown. */
  #cutFor?: HttpConnectionEnd;
  #ended = false;

  constructor(
    client: Deno.Conn,
    server: Deno.TcpConn,
    options: {
      deadlines: Deadlines;
      readBuffers: ReadBufferPool;
      timeouts: HttpTimeouts;
      /** Called when its last request in flight is done. */
      onIdle: () => void;
      /** Called when it is upgraded. */
      onUpgrade: () => void;
      /** Whether the client's bytes are TLS, which the relay cannot read. */
      encrypted: boolean;
    },
  ) {
    this.#client = client;
    this.#encrypted = options.encrypted;
    if (options.encrypted) this.#firstHead = undefined;
    this.#onIdle = options.onIdle;
    this.#onUpgrade = options.onUpgrade;
    const deadline = this.#deadline = new ConnectionDeadline(
      options.deadlines,
      {
        timeouts: options.timeouts,
        onExpire: (end: DeadlineEnd) => this.cut(end),
      },
    );
    this.#relay = new Relay(client, server, {
      onClientData: () => {
        if (this.#upgrade === undefined) deadline.clientData();
      },
      passClientData: (data) => {
        // Over TLS the bytes are ciphertext: nothing to read in them.
        if (this.#encrypted) return data.length;
        if (this.#upgrade !== undefined) {
          return this.#upgrade.passClientData(data);
        }
        this.#firstHead?.scan(data);
        return data.length;
      },
      holdClient: () => this.#upgrade?.holdClient() ?? false,
      readBuffers: options.readBuffers,
    });
  }

  /** Whether it has been upgraded. */
  get upgraded(): boolean {
    return this.#upgrade !== undefined;
  }

  /** Whether a response that closes the connection has been given. */
  get closing(): boolean {
    return this.#relay.ignoringClient;
  }

  requestStarted(): void {
    this.#deadline.requestStarted();
  }

  /** A response has been handed over, or could not be. */
  requestCompleted = (): void => {
    // The 101 of an upgrade is handed over once the deadline has gone.
    if (this.#upgrade !== undefined) return;
    this.#deadline.requestCompleted();
    if (!this.#deadline.busy && !this.#ended) this.#onIdle();
  };

  upgrade(options: UpgradeOptions): UpgradedConnection | undefined {
    const seen = !this.#encrypted;
    const aligned = !seen || this.#firstHead?.bytesAfter === 0;
    if (!aligned || this.closing || this.#upgrade) return undefined;
    this.#firstHead = undefined;
    this.#upgrade = options;
    this.#deadline[Symbol.dispose]();
    this.#onUpgrade();
    return {
      remoteAddr: this.#client.remoteAddr as Deno.NetAddr,
      clientDataSeen: seen,
      closed: this.#relay.closed.then(() => {}),
      cut: () => this.cut("shutdown"),
    };
  }

  /** Closes it now, for the reason its deadline would have given. */
  evict(): void {
    this.#deadline.expireNow();
  }

  /**
   * Returns `response`; when it closes the connection, once it is handed
   * over the client is heard no more, and the server inside reads an end of
   * stream, answers what it had already read, and closes, and the relay with
   * it. Deno adds a
   * `Connection: close` of its own when the request had one: then the
   * response's is dropped, so that it is sent once.
   */
  closeAfter(
    request: Request,
    response: Response,
    completed: Promise<void>,
  ): Response {
    if (!closesConnection(response)) return response;
    if (/\bclose\b/i.test(request.headers.get("connection") ?? "")) {
      response.headers.delete("connection");
    }
    const finish = () => this.#relay.finish();
    completed.then(finish, finish);
    return response;
  }

  /** Closes both sockets at once, for `reason`. */
  cut(reason: HttpConnectionEnd): void {
    this.#cutFor ??= reason;
    this.#relay.close();
  }

  /** Why the connection ended, once both sockets are closed. */
  async ended(signal: AbortSignal): Promise<HttpConnectionEnd> {
    const { error } = await this.#relay.closed;
    this.#ended = true;
    this.#deadline[Symbol.dispose]();
    if (this.#cutFor !== undefined) return this.#cutFor;
    if (error !== undefined) return isBroken(error) ? "reset" : "error";
    return signal.aborted ? "shutdown" : "closed";
  }
}
