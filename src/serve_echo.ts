import {
  type EchoOptions,
  type EchoStream,
  handleEchoConnection,
} from "./echo.ts";
import { errorMessage } from "./error_message.ts";
import type { Logger } from "./log.ts";
import { formatHostPort } from "./net_addr.ts";
import { onAbort } from "./on_abort.ts";

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
}

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
  const { signal, logger } = options;
  onAbort(signal, () => listener.close());

  const clients = new Set<Promise<void>>();
  let nextId = 1;
  while (!signal.aborted) {
    let conn: EchoConn;
    try {
      conn = await listener.accept();
    } catch (error) {
      // Once aborted this is the closed listener; before, it is one client's
      // failure (such as a reset before the accept), not the listener's.
      if (!signal.aborted) logger.warning(`accept: ${errorMessage(error)}`);
      continue;
    }
    const client = serveClient(nextId++, conn, options);
    clients.add(client);
    client.then(() => clients.delete(client));
  }
  await Promise.all(clients);
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
