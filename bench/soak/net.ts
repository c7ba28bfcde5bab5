/**
 * TCP connections for the clients: an endpoint that counts the connections
 * made to it, a bounded use of one connection, and writes.
 *
 * @module
 */
import { HOST } from "./settings.ts";

/** A port on {@linkcode HOST} that counts the connections made to it. */
export class Endpoint {
  /** Connections made so far. */
  connections = 0;

  constructor(readonly port: number) {}

  /** A new connection, counted once it is made. */
  async connect(): Promise<Deno.TcpConn> {
    const conn = await Deno.connect({ hostname: HOST, port: this.port });
    this.connections++;
    return conn;
  }
}

/** A connection that {@linkcode withConn} cut because it took too long. */
export class TimeoutError extends Error {
  override name = "TimeoutError";
}

/**
 * Connects to `endpoint`, runs `use` on the connection and closes it. If
 * `use` has not settled within `limitMs` the connection is closed under it,
 * which settles its reads and writes, and the error it then throws becomes a
 * {@linkcode TimeoutError}.
 */
export async function withConn<T>(
  endpoint: Endpoint,
  limitMs: number,
  use: (conn: Deno.TcpConn) => Promise<T>,
): Promise<T> {
  const conn = await endpoint.connect();
  let expired = false;
  const timer = setTimeout(() => {
    expired = true;
    closeQuietly(conn);
  }, limitMs);
  try {
    return await use(conn);
  } catch (error) {
    if (!expired) throw error;
    throw new TimeoutError(`cut after ${limitMs} ms`, { cause: error });
  } finally {
    clearTimeout(timer);
    closeQuietly(conn);
  }
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch (error) {
    if (!(error instanceof Deno.errors.BadResource)) throw error;
  }
}

export async function writeAll(
  conn: Deno.Conn,
  data: Uint8Array,
): Promise<void> {
  for (let written = 0; written < data.length;) {
    written += await conn.write(data.subarray(written));
  }
}

/** Writes `data` without waiting; a write cut short by a close is fine. */
export function writeInBackground(
  conn: Deno.Conn,
  data: Uint8Array,
): Promise<void> {
  return writeAll(conn, data).catch(() => {
    // The connection was closed (by either side) before all was written.
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
