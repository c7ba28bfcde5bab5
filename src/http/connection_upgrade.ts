/**
 * What a request handler may do with the relayed HTTP connection its request
 * came on: switch it to another protocol (a WebSocket), which takes it out of
 * the HTTP port's deadlines and limit. Shared by the HTTP connections, which
 * offer it, and the WebSocket echo, which takes it.
 *
 * @module
 */

/** How an upgraded connection's client is read from then on. */
export interface UpgradeOptions {
  /**
   * Sees each chunk from the client before it is passed on: how many of its
   * first bytes to pass; fewer than all, and the client is heard no more.
   */
  passClientData(data: Uint8Array): number;
  /**
   * While it returns true the client is not read: asked before each read,
   * and again as each chunk from the server reaches the client.
   */
  holdClient(): boolean;
}

/** A connection taken out of HTTP's hands. */
export interface UpgradedConnection {
  /** The client's address. */
  readonly remoteAddr: Deno.NetAddr;
  /**
   * Whether `passClientData` sees the new protocol's bytes: not over TLS,
   * where the relay sees only ciphertext, and is never asked.
   */
  readonly clientDataSeen: boolean;
  /** Settles once both its sockets are closed. */
  readonly closed: Promise<void>;
  /** Closes both its sockets now. */
  cut(): void;
}

/** The relayed connection a request came on, as its handler sees it. */
export interface UpgradableConnection {
  /**
   * Takes the connection out of the HTTP deadlines and limit, for a handler
   * about to answer 101, and reads the client as `options` say from then on.
   * Undefined when the bytes after the request cannot be told to be the new
   * protocol's from the first: the request was not the first on its
   * connection, or the client has sent more behind it. (Over TLS this is not
   * asked, since the bytes are not seen.)
   */
  upgrade(options: UpgradeOptions): UpgradedConnection | undefined;
}
