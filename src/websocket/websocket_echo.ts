/**
 * One WebSocket echo client, served over a socket from
 * `Deno.upgradeWebSocket`: each message goes back as it came, text as text
 * and binary as binary, under the same idle timeouts as TCP echo.
 *
 * How it ends: the client closes (`closed`); it sends no message for too long
 * (`idle`, close code 1000); the service shuts down (`shutdown`, 1001); a
 * message goes over the size limit (`too_big`, 1009); or the socket fails,
 * such as on a protocol error or a reset (`error`). Whenever the service is
 * the one to close, the client then has `drainMs` to answer the close before
 * its connection is cut, so that nothing a client does holds it open.
 *
 * At shutdown the close frame is the one `Deno.serve`'s graceful
 * `shutdown()` sends to every WebSocket it upgraded (1001, "Server shutting
 * down"), at once, without waiting for the client's answer: a close of the
 * session's own would be a second, and one whose write, to a client that
 * does not read, would still be pending once the connection is cut.
 *
 * @module
 */
import type { IdleTimeouts } from "../echo/echo.ts";
import type { Deadline, Deadlines } from "../waiting/deadlines.ts";
import { offAbort, onAbort } from "../waiting/on_abort.ts";

/** Why a WebSocket echo connection ended. */
export const WEBSOCKET_ENDS = [
  "closed",
  "idle",
  "shutdown",
  "too_big",
  "error",
] as const;

/** Why a WebSocket echo connection ended: one of {@linkcode WEBSOCKET_ENDS}. */
export type WebSocketEnd = typeof WEBSOCKET_ENDS[number];

/**
 * The socket one client is served over: a `WebSocket` from
 * `Deno.upgradeWebSocket` is one; tests use their own. It dispatches `open`,
 * `message` (a `MessageEvent` whose data is a string or an `ArrayBuffer`),
 * `error` and `close`.
 */
export interface EchoSocket extends EventTarget {
  /** Bytes sent and not yet written to the connection. */
  readonly bufferedAmount: number;
  /** Sends one message: text as text, binary as binary. */
  send(data: string | ArrayBuffer): void;
  /** Starts the closing handshake with `code` and `reason`. */
  close(code?: number, reason?: string): void;
}

/** How a WebSocket echo connection ended. */
export interface WebSocketEchoResult {
  /** Why it ended: one of {@linkcode WEBSOCKET_ENDS}. */
  reason: WebSocketEnd;
  /** Messages echoed. */
  messages: number;
  /** Bytes of payload echoed: text counts as its UTF-8 bytes. */
  bytes: number;
  /** What the socket said went wrong, when the reason is `error`. */
  error?: string;
}

/** What a {@linkcode WebSocketEchoSession} needs besides the socket. */
export interface WebSocketEchoOptions {
  /** How long it may go with no message: TCP echo's timeouts. */
  timeouts: IdleTimeouts;
  /** Where the deadline is kept: a server's connections share one. */
  deadlines: Deadlines;
  /** Closes the client's connection at once, whatever it is doing. */
  cut: () => void;
  /**
   * Shutdown: when it aborts, the server closes the socket with 1001 (see
   * the module doc), and the client has `drainMs` to answer.
   */
  signal?: AbortSignal;
  /**
   * Once the service has closed the socket, how long the client has to
   * answer before its connection is cut.
   * @default {1000}
   */
  drainMs?: number;
  /** Sent as the first text message, before any echo, when set. */
  banner?: string;
  /**
   * A message longer than this closes the socket with 1009, unechoed: for a
   * connection whose frames nobody could check before the socket read them
   * (over TLS). Otherwise {@linkcode WebSocketEchoSession.messageTooBig}
   * says when.
   */
  maxMessageBytes?: number;
  /** Counts each message and its bytes as it is echoed. */
  counters?: {
    messages: { inc(): void };
    bytes: { inc(bytes: number): void };
  };
}

/** Close codes the service sends, from RFC 6455, section 7.4.1. */
const CLOSE_CODES = {
  idle: [1000, "idle timeout"],
  too_big: [1009, "message too big"],
} as const;

/** The ends the service closes for. */
type ServiceEnd = keyof typeof CLOSE_CODES | "shutdown";

/**
 * Serves one WebSocket echo client from its `open` until its `close` (see
 * the module doc). The idle deadline starts at `timeouts.initialMs` and moves
 * to `timeouts.refreshMs` after each message received; the server's own
 * sends, the banner and echoes alike, never move it.
 *
 * @example
 * ```ts
 * import { WebSocketEchoSession } from "./websocket_echo.ts";
 * import { Deadlines } from "../waiting/deadlines.ts";
 * import assert from "node:assert/strict";
 *
 * const sent: unknown[] = [];
 * const socket = Object.assign(new EventTarget(), {
 *   bufferedAmount: 0,
 *   send: (data: string | ArrayBuffer) => sent.push(data),
 *   close: () => socket.dispatchEvent(new CloseEvent("close")),
 * });
 * const session = new WebSocketEchoSession(socket, {
 *   timeouts: { initialMs: 5_000, refreshMs: 30_000 },
 *   deadlines: new Deadlines(),
 *   cut: () => {},
 * });
 * socket.dispatchEvent(new Event("open"));
 * socket.dispatchEvent(new MessageEvent("message", { data: "hi" }));
 * socket.dispatchEvent(new CloseEvent("close", { code: 1000 }));
 * assert.deepEqual(sent, ["hi"]);
 * assert.deepEqual(await session.ended, { reason: "closed", messages: 1, bytes: 2 });
 * ```
 */
export class WebSocketEchoSession {
  /** Settles once the socket has closed, or failed before it opened. */
  readonly ended: Promise<WebSocketEchoResult>;
  readonly #socket: EchoSocket;
  readonly #options: WebSocketEchoOptions;
  readonly #deadline: Deadline;
  /** Why the service closed the socket, once it has. */
  #closedFor?: ServiceEnd;
  #opened = false;
  #error?: string;
  #messages = 0;
  #bytes = 0;
  /** Messages to echo before closing for a message over the limit. */
  #tooBigAfter?: number;

  /**
   * Serves `socket` from its `open`; the idle deadline starts now.
   *
   * @param socket the socket, before it opens
   * @param options its timeouts and where to count
   */
  constructor(socket: EchoSocket, options: WebSocketEchoOptions) {
    this.#socket = socket;
    this.#options = options;
    const { timeouts, deadlines, signal } = options;
    this.#deadline = deadlines.set(timeouts.initialMs, this.#expire);
    const shutDown = () => this.#close("shutdown");
    if (signal) onAbort(signal, shutDown);
    const ended = Promise.withResolvers<WebSocketEchoResult>();
    const end = () => {
      this.#deadline.clear();
      if (signal) offAbort(signal, shutDown);
      ended.resolve(this.#result());
    };
    this.ended = ended.promise;
    socket.addEventListener("open", () => {
      this.#opened = true;
      // Closed before it opened, when a close would have been lost.
      if (this.#closedFor !== undefined) return this.#sendClose();

      if (options.banner !== undefined) socket.send(options.banner);
    });
    socket.addEventListener("message", this.#echo);
    socket.addEventListener("error", (event) => {
      this.#error = (event as ErrorEvent).message;
      // An upgrade that failed: no close comes after it.
      if (!this.#opened) end();
    });
    socket.addEventListener("close", end);
  }

  /**
   * A message over the size limit has begun, after `messagesBefore`
   * messages: once those are echoed, the socket closes with 1009.
   */
  messageTooBig(messagesBefore: number): void {
    this.#tooBigAfter = messagesBefore;
    if (this.#messages >= messagesBefore) this.#close("too_big");
  }

  #echo = (event: Event): void => {
    const { data } = event as MessageEvent<string | ArrayBuffer>;
    const { timeouts, counters, maxMessageBytes = Infinity } = this.#options;
    const bytes = typeof data === "string" ? utf8Length(data) : data.byteLength;
    if (bytes > maxMessageBytes) return this.#close("too_big");
    this.#deadline.reset(timeouts.refreshMs);
    this.#socket.send(data);
    this.#messages++;
    this.#bytes += bytes;
    counters?.messages.inc();
    counters?.bytes.inc(bytes);
    if (this.#tooBigAfter === this.#messages) this.#close("too_big");
  };

  #expire = (): void => {
    if (this.#closedFor === undefined) this.#close("idle");
    else this.#options.cut();
  };

  /**
   * Closes the socket for `reason`, once it is open, and gives the client the
   * drain to answer.
   */
  #close(reason: ServiceEnd): void {
    if (this.#closedFor !== undefined) return;
    this.#closedFor = reason;
    if (this.#opened) this.#sendClose();
    this.#deadline.reset(this.#options.drainMs ?? 1_000);
  }

  #sendClose(): void {
    const reason = this.#closedFor!;
    if (reason === "shutdown") return;
    const [code, text] = CLOSE_CODES[reason];
    this.#socket.close(code, text);
  }

  #result(): WebSocketEchoResult {
    const reason = this.#closedFor ??
      (this.#error === undefined ? "closed" : "error");
    const result: WebSocketEchoResult = {
      reason,
      messages: this.#messages,
      bytes: this.#bytes,
    };
    if (reason === "error") result.error = this.#error;
    return result;
  }
}

/** How many bytes `text` takes in UTF-8. */
function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0xd800 && code <= 0xdbff) {
      // A surrogate pair: 4 bytes for its 2 code units.
      bytes += 2;
      i++;
    } else if (code >= 0x800) bytes += 2;
    else if (code >= 0x80) bytes += 1;
  }
  return bytes;
}
