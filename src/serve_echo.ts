import {
  type EchoOptions,
  type EchoStream,
  handleEchoConnection,
} from "./echo.ts";
import { errorMessage } from "./error_message.ts";
import type { Logger } from "./log.ts";
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
export interface ServeEchoOptions extends EchoOptions {
  /** Aborting it closes the listener and then each connection. */
  signal: AbortSignal;
  logger: Logger;
  /** Connections served at once; a client over the limit is closed at once. */
  maxConnections: number;
}

/** The least time between two log lines about the same kind of failure. */
const FAILURE_LOG_INTERVAL_MS = 1_000;
/** The first and the longest pause after accept fails for want of resources. */
const ACCEPT_BACKOFF_MS = { first: 10, max: 1_000 };
/** Accept errors that say the process or system is out of something. */
const OUT_OF_RESOURCES = new Set(["EMFILE", "ENFILE", "ENOBUFS", "ENOMEM"]);

/**
 * Serves every client of `listener` with {@linkcode handleEchoConnection}
 * until the signal aborts, then closes the listener and settles once every
 * connection has ended. A failed accept or a failing connection is logged and
 * touches no other client.
 *
 * @example
 * ```ts
 * import { serveEcho } from "./serve_echo.ts";
 * import { Logger } from "./log.ts";
 *
 * const shutdown = new AbortController();
 * const served = serveEcho(Deno.listen({ hostname: "127.0.0.1", port: 0 }), {
 *   timeouts: { initialMs: 5_000, refreshMs: 30_000 },
 *   maxConnections: 10_000,
 *   signal: shutdown.signal,
 *   logger: new Logger("warning"),
 * });
 * shutdown.abort();
 * await served;
 * ```
 */
export async function serveEcho(
  listener: EchoListener,
  options: ServeEchoOptions,
): Promise<void> {
  const { signal, logger, maxConnections } = options;
  onAbort(signal, () => listener.close());
  const acceptFailures = new ThrottledLog(logger, FAILURE_LOG_INTERVAL_MS);
  const rejections = new ThrottledLog(logger, FAILURE_LOG_INTERVAL_MS);

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
      acceptFailures.warning(`accept: ${errorMessage(error)}`);
      if (isOutOfResources(error)) {
        backoffMs = Math.min(
          ACCEPT_BACKOFF_MS.max,
          2 * backoffMs || ACCEPT_BACKOFF_MS.first,
        );
        await pause(backoffMs, signal);
      }
      continue;
    }
    if (clients.size >= maxConnections) {
      conn.close();
      rejections.warning(
        `closed a client from ${formatHostPort(conn.remoteAddr)}: ` +
          `${maxConnections} connections open, the most --max-connections allows`,
      );
      continue;
    }
    const client = serveClient(nextId++, conn, options);
    clients.add(client);
    client.then(() => clients.delete(client));
  }
  await Promise.all(clients);
}

function isOutOfResources(error: unknown): boolean {
  return OUT_OF_RESOURCES.has((error as { code?: string }).code ?? "");
}

async function serveClient(
  id: number,
  conn: EchoConn,
  options: ServeEchoOptions,
): Promise<void> {
  const { logger } = options;
  const name = `client ${id}`;
  logger.debug(`${name}: connected from ${formatHostPort(conn.remoteAddr)}`);
  try {
    const { reason, bytesEchoed } = await handleEchoConnection(conn, options);
    if (reason === "idle") logger.info(`${name}: closed idle connection`);
    else logger.debug(`${name}: ${reason} after ${bytesEchoed} bytes`);
  } catch (error) {
    logger.warning(`${name}: ${errorMessage(error)}`);
  }
}
