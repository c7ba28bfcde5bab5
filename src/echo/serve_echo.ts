import { type EchoOptions, handleEchoConnection } from "./echo.ts";
import type { EchoConn, EchoListener, EchoResult } from "./echo_stream.ts";
import type { EchoMetrics } from "./echo_metrics.ts";
import { AcceptFailures } from "../net/accept_failures.ts";
import { errorMessage } from "../net/error_message.ts";
import { Deadlines } from "../waiting/deadlines.ts";
import type { LogFields, Logger } from "../observability/log.ts";
import { formatHostPort } from "../net/net_addr.ts";
import type { ProxyHeader } from "./proxy_protocol.ts";
import { readProxyHeader } from "./read_proxy_header.ts";
import { ReadBufferPool } from "../net/read_buffers.ts";
import { SilentClients } from "./silent_clients.ts";
import { ThrottledLog } from "../observability/throttled_log.ts";

/** What {@linkcode serveEcho} needs besides the listener. */
export interface ServeEchoOptions
  extends
    Omit<EchoOptions, "signal" | "bytesCounter" | "deadlines" | "readBuffers"> {
  /** Where each connection's end, the limit and failed accepts are told. */
  logger: Logger;
  /** What the server counts. */
  metrics: EchoMetrics;
  /**
   * Connections served at once. A client over the limit takes the place of
   * the longest-silent client whose connection can tell (`EchoConn.heard`),
   * if there is one, or is closed at once.
   */
  maxConnections: number;
  /**
   * Each connection begins with a PROXY protocol header (v1 or v2) from a
   * load balancer, read within `timeouts.initialMs`, naming the client; a
   * connection without a valid one is closed at once, with nothing echoed.
   * @default {false}
   */
  proxyProtocol?: boolean;
}

/**
 * Ends worth a warning besides their `connection ended` line, at most one a
 * second each, since they come in floods: bad PROXY protocol headers, and
 * plaintext clients on the TLS port.
 */
const FLOOD_WARNINGS = {
  proxy_header: "bad PROXY protocol header",
  handshake: "TLS handshake failed",
} as const;

/** An echo server that {@linkcode serveEcho} runs until it is closed. */
export interface EchoServer {
  /**
   * Shuts the server down, and settles once it is done: the listener closes,
   * so no client is accepted any more, and then every connection ends, at
   * once if it waits to read, or once the chunk it is writing is out,
   * `drainMs` at most. Calling it again returns the same promise.
   */
  close(): Promise<void>;
}

/**
 * Serves every client of `listener` with {@linkcode handleEchoConnection}
 * until {@linkcode EchoServer.close} is called. A failed accept or a failing
 * connection is logged and
 * touches no other client. Each served connection's end is one
 * `connection ended` log line with its client id, remote address, reason,
 * bytes echoed and duration; clients closed over the limit, and failed
 * accepts, are logged at most once a second, with a `held_back` count. With
 * `proxyProtocol`, the remote address is the client's from the header, and
 * `proxy` the balancer's.
 *
 * @example
 * ```ts
 * import { serveEcho } from "./serve_echo.ts";
 * import { Logger } from "../observability/log.ts";
 * import { createEchoMetrics } from "./echo_metrics.ts";
 * import assert from "node:assert/strict";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const server = serveEcho(listener, {
 *   timeouts: { initialMs: 5_000, refreshMs: 30_000 },
 *   maxConnections: 10_000,
 *   logger: new Logger("warning"),
 *   metrics: createEchoMetrics(),
 * });
 * const client = await Deno.connect({ port: listener.addr.port });
 * await client.write(new TextEncoder().encode("hi"));
 * const reply = new Uint8Array(2);
 * assert.equal(await client.read(reply), 2);
 * await server.close(); // the client is waiting to read: it is closed at once
 * assert.equal(await client.read(reply), null);
 * client.close();
 * ```
 */
export function serveEcho(
  listener: EchoListener,
  options: ServeEchoOptions,
): EchoServer {
  // Aborted by close(): every connection watches it, through one listener.
  const closing = new AbortController();
  const served = acceptClients(listener, options, closing.signal);
  return {
    close() {
      if (!closing.signal.aborted) {
        // Stop accepting: the accept loop ends on the closed listener.
        listener.close();
        // Drain: each connection ends now, or once its chunk is out.
        closing.abort();
      }
      return served;
    },
  };
}

/**
 * The accept loop: serves each client until `signal` aborts, and settles once
 * every connection has ended.
 */
async function acceptClients(
  listener: EchoListener,
  options: ServeEchoOptions,
  signal: AbortSignal,
): Promise<void> {
  const { logger, metrics, maxConnections } = options;
  const throttled = { signal };
  const acceptFailures = new AcceptFailures({
    counter: metrics.acceptErrors,
    logger,
    signal,
  });
  const rejections = new ThrottledLog(logger, throttled);
  const rejectionEnds = new ThrottledLog(logger, throttled);
  const floods = new Map(
    Object.keys(FLOOD_WARNINGS).map((reason) => [
      reason,
      new ThrottledLog(logger, throttled),
    ]),
  );
  const echoOptions: EchoOptions = {
    ...options,
    signal,
    bytesCounter: metrics.bytesEchoed,
    deadlines: new Deadlines(),
    readBuffers: new ReadBufferPool(),
  };
  const silent = new SilentClients();

  // A count, not a set of promises: an idle client costs no more than its
  // own connection's state.
  let served = 0;
  let allEnded: PromiseWithResolvers<void> | undefined;
  const ended = () => {
    if (--served === 0) allEnded?.resolve();
  };
  let nextId = 1;
  while (!signal.aborted) {
    let conn: EchoConn;
    try {
      conn = await listener.accept();
      acceptFailures.succeeded();
    } catch (error) {
      // Once closing, this is the closed listener.
      if (signal.aborted) break;
      await acceptFailures.failed(error);
      continue;
    }
    metrics.accepted.inc();
    // A TLS stream has a handshake: it came in on a TLS echo port.
    metrics.acceptedByPort.inc({ tls: String(conn.handshake !== undefined) });
    // A chunk larger than the 64-byte first read is echoed in two writes,
    // and Nagle's algorithm would hold the second back until the client
    // acknowledged the first, which it delays by 40 ms.
    conn.setNoDelay?.(true);
    const id = nextId++;
    // At the limit a new client takes the place of the longest silent one,
    // if the connections can tell (relayed TLS ones can).
    if (served >= maxConnections && silent.evictOldest()) {
      metrics.evicted.inc();
    } else if (served >= maxConnections) {
      conn.close();
      metrics.rejected.inc();
      if (logger.isEnabled("info")) {
        rejectionEnds.info("connection ended", {
          ...describe(id, conn),
          reason: "limit",
        });
      }
      rejections.warning("connection limit reached", {
        max_connections: maxConnections,
      });
      continue;
    }
    served++;
    silent.add(conn);
    serveClient(id, conn, { echoOptions, options, floods, silent }).finally(
      ended,
    );
  }
  if (served > 0) {
    allEnded = Promise.withResolvers();
    await allEnded.promise;
  }
}

/** What {@linkcode serveClient} shares with the other clients of its server. */
interface ServerContext {
  echoOptions: EchoOptions;
  options: ServeEchoOptions;
  floods: Map<string, ThrottledLog>;
  silent: SilentClients;
}

async function serveClient(
  id: number,
  conn: EchoConn,
  { echoOptions, options, floods, silent }: ServerContext,
): Promise<void> {
  const { logger, metrics } = options;
  const started = performance.now();
  metrics.open.inc();
  let header: ProxyHeader | undefined;
  let result: EchoResult;
  const proxied = options.proxyProtocol
    ? await readProxyHeader(conn, {
      timeoutMs: options.timeouts.initialMs,
      signal: echoOptions.signal,
      deadlines: echoOptions.deadlines,
    })
    : undefined;
  if (proxied?.kind === "ended") {
    result = proxied.result;
  } else {
    header = proxied?.header;
    if (logger.isEnabled("debug")) {
      logger.debug("connection opened", describe(id, conn, header));
    }
    result = await handleEchoConnection(proxied?.stream ?? conn, echoOptions);
  }
  // Closed to make room, it was silent: idle, whatever its stream said.
  if (silent.forget(conn)) result = { reason: "idle", bytesEchoed: 0 };
  const { reason, bytesEchoed, error } = result;
  const seconds = (performance.now() - started) / 1000;
  metrics.open.dec();
  metrics.ended.inc({ reason });
  metrics.duration.observe(seconds);
  // Fields are built only for a line that is written: an off level costs nothing.
  const level = reason === "error" ? "warning" : "info";
  if (logger.isEnabled(level)) {
    logger[level]("connection ended", {
      ...describe(id, conn, header),
      reason,
      bytes: bytesEchoed,
      duration_ms: Math.round(seconds * 10_000) / 10,
      ...(error === undefined ? {} : { error: errorMessage(error) }),
    });
  }
  if (reason in FLOOD_WARNINGS && logger.isEnabled("warning")) {
    const message = FLOOD_WARNINGS[reason as keyof typeof FLOOD_WARNINGS];
    floods.get(reason)!.warning(message, {
      remote: formatHostPort(conn.remoteAddr),
      error: errorMessage(error),
    });
  }
  if (conn.closed) await conn.closed;
}

/**
 * The fields that name a client in its log lines: the client's address from
 * the PROXY protocol header with the balancer's as `proxy`, when there is one.
 */
function describe(id: number, conn: EchoConn, header?: ProxyHeader): LogFields {
  const remote = formatHostPort(conn.remoteAddr);
  return header?.source === undefined
    ? { client: id, remote }
    : { client: id, remote: formatHostPort(header.source), proxy: remote };
}
