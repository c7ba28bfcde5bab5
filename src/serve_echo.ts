import {
  type EchoOptions,
  type EchoStream,
  handleEchoConnection,
} from "./echo.ts";
import { errorMessage } from "./error_message.ts";
import type { LogFields, Logger } from "./log.ts";
import type { EchoMetrics } from "./metrics.ts";
import { formatHostPort } from "./net_addr.ts";
import { onAbort } from "./on_abort.ts";
import { pause } from "./pause.ts";
import { ThrottledLog } from "./throttled_log.ts";

/** A connection the echo listener accepted; a `Deno.TcpConn` is one. */
export interface EchoConn extends EchoStream {
  readonly remoteAddr: Deno.NetAddr;
}

/** Accepts echo clients; a `Deno.TcpListener` is one. */
export interface EchoListener {
  /** The next client; rejects for a client that failed, or once closed. */
  accept(): Promise<EchoConn>;
  /** Stops accepting: a pending and every later `accept` rejects. */
  close(): void;
}

/** What {@linkcode serveEcho} needs besides the listener. */
export interface ServeEchoOptions extends Omit<EchoOptions, "bytesCounter"> {
  /** Aborting it closes the listener and then each connection. */
  signal: AbortSignal;
  logger: Logger;
  metrics: EchoMetrics;
  /** Connections served at once; a client over the limit is closed at once. */
  maxConnections: number;
}

/** The least time between two warnings about the same kind of failure. */
const WARNING_INTERVAL_MS = 1_000;
/** The first and the longest pause after accept fails for want of resources. */
const ACCEPT_BACKOFF_MS = { first: 10, max: 1_000 };
/** Accept errors that say the process or system is out of something. */
const OUT_OF_RESOURCES = new Set(["EMFILE", "ENFILE", "ENOBUFS", "ENOMEM"]);

/**
 * Serves every client of `listener` with {@linkcode handleEchoConnection}
 * until the signal aborts, then closes the listener and settles once every
 * connection has ended. A failed accept or a failing connection is logged and
 * touches no other client. Each connection's end is one `connection ended`
 * log line with its client id, remote address, reason, bytes echoed and
 * duration.
 *
 * @example
 * ```ts
 * import { serveEcho } from "./serve_echo.ts";
 * import { Logger } from "./log.ts";
 * import { createMetrics } from "./metrics.ts";
 *
 * const shutdown = new AbortController();
 * const served = serveEcho(Deno.listen({ hostname: "127.0.0.1", port: 0 }), {
 *   timeouts: { initialMs: 5_000, refreshMs: 30_000 },
 *   maxConnections: 10_000,
 *   signal: shutdown.signal,
 *   logger: new Logger("warning"),
 *   metrics: createMetrics().echo,
 * });
 * shutdown.abort();
 * await served;
 * ```
 */
export async function serveEcho(
  listener: EchoListener,
  options: ServeEchoOptions,
): Promise<void> {
  const { signal, logger, metrics, maxConnections } = options;
  onAbort(signal, () => listener.close());
  const acceptFailures = new ThrottledLog(logger, WARNING_INTERVAL_MS);
  const rejections = new ThrottledLog(logger, WARNING_INTERVAL_MS);
  const handshakeFailures = new ThrottledLog(logger, WARNING_INTERVAL_MS);
  const echoOptions = { ...options, bytesCounter: metrics.bytesEchoed };
  const clientOptions = { ...options, handshakeFailures };

  const clients = new Set<Promise<void>>();
  let nextId = 1;
  let backoffMs = 0;
  while (!signal.aborted) {
    let conn: EchoConn;
    try {
      conn = await listener.accept();
      backoffMs = 0;
    } catch (error) {
      // Once aborted this is the closed listener. Before, it is one client's
      // failure (such as a reset before the accept), or a shortage, such as
      // of descriptors, that retrying at once would only spin on.
      if (signal.aborted) break;
      const code = errorCode(error);
      metrics.acceptErrors.inc({ code });
      acceptFailures.warning("accept failed", { error: errorMessage(error) });
      if (OUT_OF_RESOURCES.has(code)) {
        backoffMs = Math.min(
          ACCEPT_BACKOFF_MS.max,
          2 * backoffMs || ACCEPT_BACKOFF_MS.first,
        );
        await pause(backoffMs, signal);
      }
      continue;
    }
    metrics.accepted.inc();
    const id = nextId++;
    if (clients.size >= maxConnections) {
      conn.close();
      metrics.rejected.inc();
      logger.info("connection ended", {
        ...describe(id, conn),
        reason: "limit",
      });
      rejections.warning("connection limit reached", {
        max_connections: maxConnections,
      });
      continue;
    }
    const client = serveClient(id, conn, echoOptions, clientOptions);
    clients.add(client);
    client.then(() => clients.delete(client));
  }
  await Promise.all(clients);
}

async function serveClient(
  id: number,
  conn: EchoConn,
  echoOptions: EchoOptions,
  { logger, metrics, handshakeFailures }: ServeEchoOptions & {
    handshakeFailures: ThrottledLog;
  },
): Promise<void> {
  const started = performance.now();
  const client = describe(id, conn);
  metrics.open.inc();
  logger.debug("connection opened", client);
  const { reason, bytesEchoed, error } = await handleEchoConnection(
    conn,
    echoOptions,
  );
  const seconds = (performance.now() - started) / 1000;
  metrics.open.dec();
  metrics.ended.inc({ reason });
  metrics.duration.observe(seconds);
  const fields: LogFields = {
    ...client,
    reason,
    bytes: bytesEchoed,
    duration_ms: Math.round(seconds * 10_000) / 10,
    ...(error === undefined ? {} : { error: errorMessage(error) }),
  };
  if (reason === "error") logger.warning("connection ended", fields);
  else logger.info("connection ended", fields);
  // Such as plaintext clients on the TLS port: worth a look, not a line each.
  if (reason === "handshake") {
    handshakeFailures.warning("TLS handshake failed", {
      remote: client.remote,
      error: fields.error,
    });
  }
}

/** The fields that name a client in its log lines. */
function describe(id: number, conn: EchoConn): LogFields {
  return { client: id, remote: formatHostPort(conn.remoteAddr) };
}

function errorCode(error: unknown): string {
  const { code, name } = error as { code?: string; name?: string };
  return code ?? name ?? "unknown";
}
