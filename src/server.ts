/**
 * The service: the echo server (`echo/`, with UDP echo beside it when asked
 * for), the HTTP server (`http/`) and the WebSocket echo it upgrades
 * `GET /ws` to (`websocket/`), counted in one set of metrics and stopped by
 * one shutdown signal. Abort leads to one close of each, which stops
 * accepting and then drains; the whole story, from the first signal to the
 * exit:
 *
 * ```text
 *   SIGTERM ──► draining: /readyz answers 503 ──► after --shutdown-delay ──┐
 *   SIGINT, SIGHUP, SIGQUIT, POST /die ────────────────────────────────────┤
 *                                                                          ▼
 *   the shutdown signal aborts ──► shutDown():  1. log "shutting down"
 *                                               2. echo, UDP, HTTP and the WebSockets
 *                                                  side by side: stop accepting, drain
 *                                                  (1 s at most), cut what is left
 *   RunningServer.finished settles ──► main.ts flushes the log ──► the process ends
 * ```
 *
 * A second stopping signal meanwhile ends the process at once
 * (`process/process_signals.ts`).
 *
 * @module
 */
import { type Config, ConfigError } from "./settings/config.ts";
import { errorMessage } from "./net/error_message.ts";
import {
  countRequests,
  createHttpApp,
  refuseOnceAborted,
} from "./http/http_app.ts";
import { Logger } from "./observability/log.ts";
import { createMetrics, type ServiceMetrics } from "./metrics.ts";
import {
  formatHostPort,
  isLoopback,
  type ListenAddress,
} from "./net/net_addr.ts";
import { onAbort } from "./waiting/on_abort.ts";
import { type EchoServer, serveEcho } from "./echo/serve_echo.ts";
import type { EchoListener } from "./echo/echo_stream.ts";
import type { UdpEcho } from "./echo/udp_echo.ts";
import { listenTlsRelayed } from "./echo/relayed_tls_listener.ts";
import { mergeListeners } from "./echo/merged_listener.ts";
import { addServedBy } from "./http/served_by.ts";
import { type HttpService, serveHttp } from "./http/serve_http.ts";
import { refuseBadTarget } from "./http/request_target.ts";
import type { UpgradableConnection } from "./http/connection_upgrade.ts";
import { Readiness } from "./http/readiness.ts";
import {
  serveWebSockets,
  type WebSocketEcho,
} from "./websocket/serve_websockets.ts";

/** A listener that could not be opened, such as a port already in use. */
export class ListenError extends Error {
  /** Its name in messages. */
  override name = "ListenError";

  /**
   * An error whose message names the address and what the system said.
   *
   * @param address where the listener was to be opened
   * @param cause what the operating system said
   */
  constructor(address: ListenAddress, cause: unknown) {
    super(
      `cannot listen on ${formatHostPort(address)}: ${errorMessage(cause)}`,
      { cause },
    );
  }
}

/** What {@linkcode startServer} needs besides the config. */
export interface ServerOptions {
  /**
   * The service's one shutdown switch: `POST /die` aborts it, and aborting it
   * (from anywhere, such as a signal handler) stops everything.
   */
  shutdown: AbortController;
  /**
   * Aborts when shutdown begins, which may be a while before `shutdown`
   * aborts: from then on `GET /readyz` answers 503 while everything else is
   * served as before.
   */
  draining?: AbortSignal;
  /**
   * Where log lines go.
   * @default a Logger at `config.logLevel` in `config.logFormat` on stderr
   */
  logger?: Logger;
  /** What the service counts. @default new metrics of its own */
  metrics?: ServiceMetrics;
}

/** A running service. */
export interface RunningServer {
  /** The address the echo listener is bound to, with the real port. */
  echoAddr: Deno.NetAddr;
  /** The address the HTTP server is bound to, with the real port. */
  httpAddr: Deno.NetAddr;
  /** With `config.tlsEcho`: the address the TLS echo listener is bound to. */
  tlsEchoAddr?: Deno.NetAddr;
  /**
   * With `config.udp`: the address the UDP echo socket is bound to, once it
   * is. It rejects when the socket cannot bind; the caller then stops the
   * service (the process exits, or aborts `shutdown`).
   */
  udpAddr?: Promise<Deno.NetAddr>;
  /** Settles once every server has stopped and every connection has closed. */
  finished: Promise<void>;
}

/**
 * Starts the echo listener and the HTTP server, with WebSocket echo on
 * `GET /ws`, all stopped by `options.shutdown` and counted in one set of
 * metrics. Once it aborts, `shutDown` runs the shutdown in order (see the
 * module doc): each echo connection closes once the chunk it is writing is
 * out; the HTTP server answers the requests in flight, and 503 to any new one
 * on an open connection; each WebSocket is closed with 1001; and clients get
 * a second to finish before they are cut. A request whose Host header is not
 * a valid `host[:port]` gets 400.
 * With `config.tlsEcho`, TLS echo has a port of its own, served by the same
 * accept loop as the plain one; with `config.udp`, datagrams are echoed too,
 * and the socket closes in the shutdown with the rest.
 *
 * @throws {ConfigError} when there is no die token and the HTTP address binds
 * off loopback, where anyone who reached it could stop the service; nothing
 * is opened then.
 * @throws {ListenError} when an echo or the HTTP address cannot be listened
 * on; nothing is left open then. (The UDP one's failure is `udpAddr`'s.)
 *
 * @example
 * ```ts
 * import { startServer } from "./server.ts";
 * import { parseCommandLine } from "./settings/config.ts";
 * import assert from "node:assert/strict";
 *
 * const parsed = parseCommandLine(["--echo-host", "127.0.0.1", "--echo-port", "0", "--http-port", "0", "--log-level", "warning"], {});
 * if (parsed.kind !== "run") throw parsed;
 * const shutdown = new AbortController();
 * const server = startServer(parsed.settings, { shutdown });
 * assert.notEqual(server.echoAddr.port, 0); // the port actually bound
 * shutdown.abort("example over");
 * await server.finished;
 * ```
 */
export function startServer(
  config: Config,
  options: ServerOptions,
): RunningServer {
  const {
    shutdown,
    draining,
    logger = new Logger(config.logLevel, { format: config.logFormat }),
    metrics = createMetrics(),
  } = options;
  const { signal } = shutdown;

  if (config.dieToken === undefined) refuseOffLoopback(config.http);
  // TLS is served on the echo port, unless it has a port of its own.
  const { tls, tlsEcho } = config;
  const echoListener = listen(
    config.echo,
    () =>
      tls && !tlsEcho
        ? listenTlsRelayed(config.echo, tls)
        : Deno.listen({ ...config.echo, transport: "tcp" }),
  );
  let listener: EchoListener = echoListener;
  let tlsEchoAddr: Deno.NetAddr | undefined;
  let http: HttpService;
  const webSockets = serveWebSockets({
    logger,
    metrics: metrics.websocket,
    maxConnections: config.wsMaxConnections,
    maxMessageBytes: config.wsMaxMessageBytes,
    banner: config.banner,
    timeouts: config.idle,
  });
  try {
    if (tls && tlsEcho) {
      const tlsListener = listen(tlsEcho, () => listenTlsRelayed(tlsEcho, tls));
      tlsEchoAddr = tlsListener.addr;
      listener = mergeListeners([echoListener, tlsListener]);
    }
    const app = createHttpApp({
      onDie: () => shutdown.abort("POST /die"),
      dieToken: config.dieToken,
      metricsText: metrics.text,
      readiness: new Readiness({ draining, metrics: metrics.readiness }),
      webSocket: webSockets.handler,
    });
    const fetch = (
      request: Request,
      info: Deno.ServeHandlerInfo<Deno.NetAddr>,
      connection: UpgradableConnection,
    ) => app.fetch(request, { completed: info.completed, connection });
    const refusing = refuseBadTarget(refuseOnceAborted(signal, fetch));
    const handler = countRequests(
      metrics.http.requests,
      config.servedBy ? addServedBy(config.servedBy, refusing) : refusing,
    );
    http = listen(config.http, () =>
      serveHttp(config.http, handler, {
        logger,
        metrics: metrics.http,
        maxConnections: config.httpMaxConnections,
        timeouts: config.httpTimeouts,
        tls: config.tls,
      }));
  } catch (error) {
    listener.close();
    throw error;
  }

  // Each port from the start, so that a rate over each is defined.
  const ports = tlsEcho ? ["false", "true"] : [String(tls !== undefined)];
  for (const port of ports) metrics.echo.acceptedByPort.inc({ tls: port }, 0);
  const echo = serveEcho(listener, {
    timeouts: config.idle,
    maxConnections: config.maxConnections,
    proxyProtocol: config.proxyProtocol,
    banner: config.banner,
    logger,
    metrics: metrics.echo,
  });
  // Loaded only when asked for: it loads node:dgram, and so Deno's Node
  // compatibility layer, which a start without it never pays for.
  const { udp: udpAddress } = config;
  const udp = udpAddress &&
    import("./echo/udp_echo.ts").then(({ serveUdpEcho }) =>
      serveUdpEcho(udpAddress, { logger, metrics: metrics.udp })
    );
  const finished = new Promise<void>((resolve) =>
    onAbort(
      signal,
      () =>
        resolve(
          shutDown(signal.reason, { logger, echo, http, webSockets, udp }),
        ),
    )
  );
  return {
    echoAddr: echoListener.addr,
    httpAddr: http.addr,
    tlsEchoAddr,
    udpAddr: udp && udp.then(({ addr }) => addr),
    finished,
  };
}

/**
 * The shutdown, step by step, once the shutdown signal has aborted; it
 * settles when the last connection has closed, about a second later at most
 * whatever clients do. (From then on the HTTP handler answers 503 to any
 * request still arriving: `refuseOnceAborted`.)
 */
async function shutDown(
  reason: unknown,
  { logger, echo, http, webSockets, udp }: {
    logger: Logger;
    echo: EchoServer;
    http: HttpService;
    webSockets: WebSocketEcho;
    udp?: Promise<UdpEcho>;
  },
): Promise<void> {
  // 1. Say why, once.
  logger.info("shutting down", { reason: String(reason) });
  // 2. Every port at once, each in order: stop accepting; end the idle
  // connections at once; give the busy ones 1 s to finish the chunk, the
  // request or the datagrams in flight; then cut what is left
  // (EchoServer.close, HttpService.close, UdpEcho.close). Each WebSocket gets
  // the same second to answer the close that the HTTP server's drain sends
  // it (WebSocketEcho.close).
  await Promise.all([
    echo.close(),
    http.close(),
    webSockets.close(),
    udp?.then((udp) => udp.close()),
  ]);
  // 3. Nothing is left running: main.ts flushes the log and the process
  // ends by itself.
}

/**
 * Throws a {@linkcode ConfigError} when `address` binds off loopback: with no
 * die token, anyone who reached it could stop the service with `POST /die`.
 * It asks the system where the host binds, with a listener on a free port
 * that it closes at once, so that `127.1` and `localhost` count as the
 * loopback they are.
 */
function refuseOffLoopback(address: ListenAddress): void {
  const bound = listen(address, () => {
    const probe = Deno.listen({ hostname: address.hostname, port: 0 });
    probe.close();
    return probe.addr;
  });
  if (isLoopback(bound.hostname)) return;
  throw new ConfigError(
    `--http-host ${address.hostname} is off loopback with no die token: ` +
      "anyone who reaches it could stop the service with POST /die; give " +
      "--die-token-file (or --die-token), or an --http-host on loopback",
  );
}

function listen<T>(address: ListenAddress, open: () => T): T {
  try {
    return open();
  } catch (error) {
    throw new ListenError(address, error);
  }
}
