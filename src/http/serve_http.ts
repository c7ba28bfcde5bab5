/**
 * The HTTP port. `Deno.serve` has no header-read or keep-alive timeout and no
 * connection limit, and takes no connection from outside, so it serves only
 * inside the process, and the public port is the service's own:
 *
 * ```text
 *   client ─► public port ─► HttpConnections ─► Relay ─► Deno.serve on ─► handler
 *             (Deno.listen)   (limit, deadlines)          127.0.0.1
 * ```
 *
 * Each client is relayed (`net/relay.ts`) to the server inside, whose
 * handler tells {@linkcode HttpConnections} when each request starts and
 * ends; the relay keeps the deadlines and closes both sockets when one
 * passes (`http_connections.ts`). The server inside is started again when it
 * stops by itself. Closing runs three steps in order: stop accepting, drain,
 * cut what is left at the drain deadline.
 *
 * @module
 */
import { Backoff } from "../waiting/backoff.ts";
import type { ListenAddress } from "../net/net_addr.ts";
import { errorCode, errorMessage } from "../net/error_message.ts";
import type { Logger } from "../observability/log.ts";
import { ThrottledLog } from "../observability/throttled_log.ts";
import { onAbort } from "../waiting/on_abort.ts";
import type { HttpTimeouts } from "./connection_deadline.ts";
import type { UpgradableConnection } from "./connection_upgrade.ts";
import type { Handler } from "./handler.ts";
import { HttpConnections } from "./http_connections.ts";
import type { HttpMetrics } from "./http_metrics.ts";

/** What {@linkcode serveHttp} needs besides the address and the handler. */
export interface ServeHttpOptions {
  /** Where failures and the drain deadline are told. */
  logger: Logger;
  /** What the server counts. */
  metrics: HttpMetrics;
  /** Connections open at once (see `HttpConnections` for what the limit does). */
  maxConnections: number;
  /** How long a connection may wait, and a request take. */
  timeouts: HttpTimeouts;
  /** Serves HTTPS with this certificate and key; HTTP without. */
  tls?: Deno.TlsCertifiedKeyPem;
  /**
   * Starts the server inside: tests pass a stand-in to make it fail.
   * @default {Deno.serve}
   */
  serve?: Serve;
  /**
   * Once closing has begun, how long requests in flight may take before
   * every connection is cut, so that no client can hold up shutdown.
   * @default {1000}
   */
  drainMs?: number;
}

/** Starts an HTTP server: `Deno.serve`, as {@linkcode serveHttp} calls it. */
export type Serve = (
  options: Deno.ServeTcpOptions & Partial<Deno.TlsCertifiedKeyPem>,
  handler: Deno.ServeHandler<Deno.NetAddr>,
) => Deno.HttpServer<Deno.NetAddr>;

/** An HTTP server that {@linkcode serveHttp} keeps serving until it is closed. */
export interface HttpService {
  /** The address it is bound to, with the real port. */
  readonly addr: Deno.NetAddr;
  /**
   * Shuts the server down, and settles once every connection has closed:
   * within `drainMs`, whatever clients do. Calling it again returns the same
   * promise.
   */
  close(): Promise<void>;
}

/**
 * Serves `handler` on `address`, with a limit on connections and deadlines
 * on each (see the module doc): the port is the service's own TCP listener,
 * and each client is relayed to a `Deno.serve` on 127.0.0.1 inside the
 * process (HTTPS with `tls`), which only the relays can use. The handler is
 * also given the request's connection, which it may upgrade.
 *
 * - When the server inside stops by itself, its accept having failed
 *   (`Deno.serve` then closes its listener, as when descriptors run out),
 *   the failure is counted and logged, and it is started again on a new port
 *   after a back-off (10 ms, doubling up to a second, and starting over once
 *   a server has served a second), until that works. The public port stays
 *   open meanwhile; clients that come then are closed.
 * - {@linkcode HttpService.close} closes the public port at once, and the
 *   server inside shuts down gracefully: idle connections close, requests in
 *   flight are answered, and a request still arriving is passed to `handler`
 *   (wrap it to refuse such requests). A client that never finishes its
 *   request (a half-sent or trickled body, an HTTP/2 client that never
 *   answers) gets `drainMs`: then every connection still open is cut, a
 *   warning says how many, and the close settles once all are closed.
 *
 * @throws what `Deno.listen` or `Deno.serve` throws when it cannot listen at
 * first; nothing is left open then
 *
 * @example
 * ```ts
 * import { serveHttp } from "./serve_http.ts";
 * import { Logger } from "../observability/log.ts";
 * import { createHttpMetrics } from "./http_metrics.ts";
 * import assert from "node:assert/strict";
 *
 * const http = serveHttp({ hostname: "127.0.0.1", port: 0 }, () => new Response("ok"), {
 *   logger: new Logger("warning"),
 *   metrics: createHttpMetrics(),
 *   maxConnections: 512,
 *   timeouts: { idleMs: 5_000, requestMs: 10_000 },
 * });
 * const response = await fetch(`http://127.0.0.1:${http.addr.port}/`);
 * assert.equal(await response.text(), "ok");
 * await http.close();
 * ```
 */
export function serveHttp(
  address: ListenAddress,
  handler: Handler<[Deno.ServeHandlerInfo<Deno.NetAddr>, UpgradableConnection]>,
  options: ServeHttpOptions,
): HttpService {
  const { logger, metrics, serve = Deno.serve, tls, drainMs = 1_000 } = options;
  // Aborted by close(): the accept loop and the restarts end on it.
  const closing = new AbortController();
  const { signal } = closing;
  const connections = new HttpConnections({ ...options, signal });
  const inner = connections.handler(handler);
  const start = () =>
    new InnerServer(
      serve({ hostname: "127.0.0.1", port: 0, ...tls, onListen() {} }, inner),
    );
  const listener = Deno.listen({ ...address, transport: "tcp" });
  let server: InnerServer;
  try {
    server = start();
  } catch (error) {
    listener.close();
    throw error;
  }

  const backoff = new Backoff();
  const warnings = new ThrottledLog(logger, { signal });
  const failed = (error: unknown, message: string) => {
    metrics.acceptErrors.inc({ code: errorCode(error) });
    warnings.warning(message, { error: errorMessage(error) });
  };
  /** A new server inside, after a back-off; none once closing has begun. */
  const startAgain = async (): Promise<InnerServer | undefined> => {
    while (true) {
      await backoff.wait(signal);
      if (signal.aborted) return undefined;
      try {
        return start();
      } catch (error) {
        failed(error, "http server cannot start again: retrying");
      }
    }
  };
  // Not the accept-failure rule of the public port (net/accept_failures.ts),
  // which goes straight on after one client's failure: an accept that fails
  // inside Deno.serve ends that server, whatever the cause, so the next is
  // always started after a back-off, lest a lasting cause be spun on.
  const aborted = new Promise<void>((resolve) => onAbort(signal, resolve));
  const restarting = (async () => {
    while (!signal.aborted) {
      const failure = await Promise.race([server.failed, aborted]);
      if (signal.aborted) return;
      failed(failure, "http server failed: starting it again");
      // A server that served a while worked: the back-off starts over.
      if (performance.now() - server.startedAt >= BACKOFF_RESET_MS) {
        backoff.reset();
      }
      server = await startAgain() ?? server;
    }
  })();
  const accepting = connections.serve(
    listener,
    () => Deno.connect({ hostname: "127.0.0.1", port: server.port }),
  );

  let closed: Promise<void> | undefined;
  const close = async () => {
    // 1. Stop accepting: the public port closes, and no server inside is
    // started again.
    closing.abort();
    await Promise.all([restarting, accepting]);
    // 2. Drain: the server inside closes its idle connections, answers the
    // requests in flight, and closes each connection once answered.
    const drained = server.shutdown();
    // 3. Cut what is still open at the drain deadline.
    const cut = await connections.closeAll(drainMs);
    if (cut > 0) {
      logger.warning(
        "http connections still open at the drain deadline: closing them",
        { count: cut, drain_ms: drainMs },
      );
    }
    await drained;
  };
  return {
    addr: listener.addr,
    close: () => closed ??= close(),
  };
}

/**
 * How long a server must have served for its failure to start the back-off
 * over: the longest pause, so that a loop of instant failures keeps doubling.
 */
const BACKOFF_RESET_MS = 1_000;

/**
 * The `Deno.serve` on 127.0.0.1 that the public port relays to: one
 * listener, until its accept fails; `serveHttp` then starts another.
 */
class InnerServer {
  /** The port it listens on, on 127.0.0.1. */
  readonly port: number;
  /** When it started, in `performance.now()` milliseconds. */
  readonly startedAt = performance.now();
  /** Settles, with why, if the server stops without being shut down. */
  readonly failed: Promise<unknown>;
  #server: Deno.HttpServer<Deno.NetAddr>;
  #stopped = false;

  constructor(server: Deno.HttpServer<Deno.NetAddr>) {
    this.#server = server;
    this.port = server.addr.port;
    this.failed = this.#server.finished.then(
      () => new Error("the HTTP server stopped"),
      (error) => error,
    ).finally(() => this.#stopped = true);
  }

  /** Closes the listener and each connection once its request is answered. */
  async shutdown(): Promise<void> {
    if (!this.#stopped) await this.#server.shutdown();
  }
}
