import { type Config, ConfigError, type ListenAddress } from "./config.ts";
import { errorMessage } from "./error_message.ts";
import {
  countRequests,
  createHttpApp,
  refuseOnceAborted,
} from "./http/http_app.ts";
import { Logger } from "./observability/log.ts";
import { createMetrics, type ServiceMetrics } from "./observability/metrics.ts";
import { formatHostPort, isLoopback } from "./net_addr.ts";
import { onAbort } from "./on_abort.ts";
import { type EchoListener, serveEcho } from "./echo/serve_echo.ts";
import { listenTlsRelayed } from "./echo/relayed_tls_listener.ts";
import { mergeListeners } from "./echo/merged_listener.ts";
import { addServedBy } from "./http/served_by.ts";
import { type HttpService, serveHttp } from "./http/serve_http.ts";
import { refuseBadTarget } from "./http/request_target.ts";
import { Readiness } from "./http/readiness.ts";

/** A listener that could not be opened, such as a port already in use. */
export class ListenError extends Error {
  override name = "ListenError";

  /**
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
  /** Settles once both servers have stopped and every connection has closed. */
  finished: Promise<void>;
}

/**
 * Starts the echo listener and the HTTP server, both stopped by one
 * AbortSignal, and both counted in one set of metrics. On abort the echo
 * listener closes and each echo connection closes once the chunk it is
 * writing is out; the HTTP server closes its listener and idle connections,
 * answers the requests in flight and 503 to any new one on an open
 * connection, and gives clients a second to finish before it cuts them.
 * A request whose Host header is not a valid `host[:port]` gets 400.
 * With `config.tlsEcho`, TLS echo has a port of its own, served by the same
 * accept loop as the plain one; with `config.udp`, datagrams are echoed too,
 * and the socket closes on abort with the rest.
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
 * import { parseConfig } from "./config.ts";
 * import assert from "node:assert/strict";
 *
 * const parsed = parseConfig(["--echo-host", "127.0.0.1", "--echo-port", "0", "--http-port", "0", "--log-level", "warning"], {});
 * if (parsed.kind !== "run") throw parsed;
 * const shutdown = new AbortController();
 * const server = startServer(parsed.config, { shutdown });
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
  try {
    if (tls && tlsEcho) {
      const tlsListener = listen(tlsEcho, () => listenTlsRelayed(tlsEcho, tls));
      tlsEchoAddr = tlsListener.addr;
      listener = mergeListeners([echoListener, tlsListener]);
    }
    const app = createHttpApp({
      onDie: () => shutdown.abort("POST /die"),
      dieToken: config.dieToken,
      registry: metrics.registry,
      readiness: new Readiness({ draining, metrics: metrics.readiness }),
    });
    const refusing = refuseBadTarget(refuseOnceAborted(signal, app.fetch));
    const handler = countRequests(
      metrics.http.requests,
      config.servedBy ? addServedBy(config.servedBy, refusing) : refusing,
    );
    http = listen(config.http, () =>
      serveHttp(config.http, handler, {
        signal,
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

  onAbort(
    signal,
    () => logger.info("shutting down", { reason: String(signal.reason) }),
  );

  // Each port from the start, so that a rate over each is defined.
  const ports = tlsEcho ? ["false", "true"] : [String(tls !== undefined)];
  for (const port of ports) metrics.echo.acceptedByPort.inc({ tls: port }, 0);
  const echoDone = serveEcho(listener, {
    timeouts: config.idle,
    maxConnections: config.maxConnections,
    proxyProtocol: config.proxyProtocol,
    banner: config.banner,
    signal,
    logger,
    metrics: metrics.echo,
  });
  // Loaded only when asked for: it loads node:dgram, and so Deno's Node
  // compatibility layer, which a start without it never pays for.
  const { udp: udpAddress } = config;
  const udp = udpAddress &&
    import("./echo/udp_echo.ts").then(({ serveUdpEcho }) =>
      serveUdpEcho(udpAddress, { signal, logger, metrics: metrics.udp })
    );
  return {
    echoAddr: echoListener.addr,
    httpAddr: http.addr,
    tlsEchoAddr,
    udpAddr: udp ? udp.then(({ addr }) => addr) : undefined,
    finished: Promise.all([
      echoDone,
      http.finished,
      udp && udp.then(({ finished }) => finished),
    ]).then(() => {}),
  };
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
