import type { EchoConn } from "./echo_stream.ts";

/**
 * The echo clients that may not have said anything yet, oldest first, among
 * those whose connection can tell (see `EchoConn.heard`). At the connection
 * limit, a new client takes the place of the oldest that still has not:
 * under a flood of silent clients, a client that speaks is served rather
 * than turned away, and no silent one holds its place for long.
 *
 * @example
 * ```ts
 * import { SilentClients } from "./silent_clients.ts";
 * import assert from "node:assert/strict";
 *
 * const client = () => ({
 *   heard: false,
 *   isClosed: false,
 *   remoteAddr: { transport: "tcp" as const, hostname: "192.0.2.1", port: 1 },
 *   read: () => Promise.resolve(null),
 *   write: () => Promise.resolve(0),
 *   close() { this.isClosed = true; },
 * });
 * const silent = new SilentClients();
 * const [spoke, quiet] = [client(), client()];
 * silent.add(spoke);
 * silent.add(quiet);
 * spoke.heard = true;
 * assert.equal(silent.evictOldest(), true);
 * assert.deepEqual([spoke.isClosed, quiet.isClosed], [false, true]);
 * assert.equal(silent.evictOldest(), false);
 * assert.equal(silent.forget(quiet), true);
 * ```
 */
export class SilentClients {
  #waiting = new Set<EchoConn>();
  #evicted = new WeakSet<EchoConn>();

  /** Adds a new client, if its connection can tell whether it has spoken. */
  add(conn: EchoConn): void {
    if (conn.heard === false) this.#waiting.add(conn);
  }

  /**
   * Closes the client that has been silent longest: whether there was one.
   * Those found to have spoken meanwhile are dropped on the way.
   */
  evictOldest(): boolean {
    for (const conn of this.#waiting) {
      this.#waiting.delete(conn);
      if (conn.heard) continue;
      this.#evicted.add(conn);
      conn.close();
      return true;
    }
    return false;
  }

  /** Forgets a client that has ended: whether it was closed to make room. */
  forget(conn: EchoConn): boolean {
    this.#waiting.delete(conn);
    return this.#evicted.has(conn);
  }
}
