import type { EchoConn, EchoListener } from "./echo_stream.ts";

/** What one listener's accept gave: a client, or why it failed. */
type Outcome =
  | { listener: EchoListener; conn: EchoConn }
  | { listener: EchoListener; error: unknown };

/**
 * Accepts from several listeners as one, so that one accept loop serves
 * them all: the plain echo port and the TLS echo port (`--tls-echo-port`)
 * then share one connection limit, one set of idle deadlines and one set of
 * metrics, and a client of either may take the place of a silent client of
 * the other.
 *
 * Each listener has at most one accept in flight, begun by an `accept()`
 * and taken by an `accept()`: clients wait in the kernel's queue, not here.
 * A failed accept is that listener's, and the next `accept()` rejects with
 * it. `close()` closes every listener, and any client accepted that no
 * `accept()` has taken yet.
 *
 * @example
 * ```ts
 * import { mergeListeners } from "./merged_listener.ts";
 * import assert from "node:assert/strict";
 *
 * const plain = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const other = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const listener = mergeListeners([plain, other]);
 * const client = await Deno.connect({ hostname: "127.0.0.1", port: other.addr.port });
 * const conn = await listener.accept();
 * assert.equal(conn.remoteAddr.port, client.localAddr.port);
 * conn.close();
 * client.close();
 * listener.close();
 * await assert.rejects(listener.accept());
 * ```
 */
export function mergeListeners(
  listeners: readonly EchoListener[],
): EchoListener {
  return new MergedListener(listeners);
}

class MergedListener implements EchoListener {
  readonly #listeners: readonly EchoListener[];
  /** Listeners with an accept in flight, or an outcome not yet taken. */
  readonly #busy = new Set<EchoListener>();
  /** Outcomes not yet taken, in the order they came. */
  #ready: Outcome[] = [];
  #arrived?: PromiseWithResolvers<void>;
  #closed = false;

  constructor(listeners: readonly EchoListener[]) {
    this.#listeners = listeners;
  }

  async accept(): Promise<EchoConn> {
    for (const listener of this.#listeners) {
      if (this.#closed || this.#busy.has(listener)) continue;
      this.#busy.add(listener);
      listener.accept().then(
        (conn) => this.#arrive({ listener, conn }),
        (error) => this.#arrive({ listener, error }),
      );
    }
    while (this.#ready.length === 0) {
      if (this.#closed) throw new Deno.errors.BadResource("Listener closed");
      this.#arrived = Promise.withResolvers();
      await this.#arrived.promise;
    }
    const outcome = this.#ready.shift()!;
    this.#busy.delete(outcome.listener);
    if ("error" in outcome) throw outcome.error;
    return outcome.conn;
  }

  close(): void {
    this.#closed = true;
    for (const listener of this.#listeners) listener.close();
    for (const outcome of this.#ready) {
      if ("conn" in outcome) outcome.conn.close();
    }
    this.#ready = [];
    this.#arrived?.resolve();
  }

  #arrive(outcome: Outcome): void {
    if (this.#closed) {
      if ("conn" in outcome) outcome.conn.close();
      return;
    }
    this.#ready.push(outcome);
    this.#arrived?.resolve();
  }
}
