/**
 * The echo side's vocabulary: the stream a client is served over, the
 * connection and listener it comes from, and why its connection ends. The
 * modules that serve clients, end their streams and count them all speak it,
 * so it is in a module of its own that each of them imports.
 *
 * @module
 */

/**
 * The byte stream one echo client is served over. A `Deno.Conn` is one; tests
 * use in-memory streams.
 */
export interface EchoStream {
  /** Reads into `buffer`; the byte count, or null at the end of the stream. */
  read(buffer: Uint8Array): Promise<number | null>;
  /** Writes some of `data`; the number of bytes written. */
  write(data: Uint8Array): Promise<number>;
  /** Closes the stream; pending reads and writes settle. */
  close(): void;
  /** A TLS stream's handshake, which settles once it is done or fails. */
  handshake?(): Promise<unknown>;
}

/**
 * Why an echo connection ends: the client closed its sending side, or closed
 * a TLS connection without TLS's close_notify, as most clients do (`closed`),
 * sent nothing for too long (`idle`), the service is shutting down
 * (`shutdown`), the connection broke, reset by the client or a broken pipe
 * (`reset`), the TLS handshake failed, as it does for a plaintext client
 * (`handshake`), or any other stream error (`error`). With `--proxy-protocol`,
 * also: no valid PROXY protocol header came first (`proxy_header`).
 */
export const ECHO_ENDS = [
  "closed",
  "idle",
  "shutdown",
  "reset",
  "handshake",
  "error",
  "proxy_header",
] as const;

/** Why an echo connection ended: one of {@linkcode ECHO_ENDS}. */
export type EchoEnd = typeof ECHO_ENDS[number];

/** How an echo connection ended. */
export interface EchoResult {
  /** Why it ended. */
  reason: EchoEnd;
  /** Bytes written back to the client. */
  bytesEchoed: number;
  /**
   * The stream's error, when the reason is `reset`, `handshake` or `error`;
   * what was wrong with the header, for `proxy_header`.
   */
  error?: unknown;
}

/** A connection the echo listener accepted; a `Deno.TcpConn` is one. */
export interface EchoConn extends EchoStream {
  /** The client's address. */
  readonly remoteAddr: Deno.NetAddr;
  /**
   * Settles once every descriptor behind the connection is closed, when that
   * can be later than `close()`, as with a relayed TLS client: until then it
   * counts against the limit.
   */
  readonly closed?: Promise<void>;
  /**
   * Whether anything has come from the client yet, when the connection can
   * tell (a relayed TLS client can): one that has not is the first to make
   * room at the limit.
   */
  readonly heard?: boolean;
  /** Sends each write at once, as a `Deno.TcpConn` can. */
  setNoDelay?(noDelay: boolean): void;
}

/** Accepts echo clients; a `Deno.TcpListener` is one. */
export interface EchoListener {
  /** The next client; rejects for a client that failed, or once closed. */
  accept(): Promise<EchoConn>;
  /** Stops accepting: a pending and every later `accept` rejects. */
  close(): void;
}
