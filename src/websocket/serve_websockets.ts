/**
 * WebSocket echo on the HTTP port: the handler of `GET /ws`. It checks the
 * handshake, keeps a limit of its own on the WebSockets open at once, takes
 * the relayed connection out of the HTTP deadlines and limit
 * (`src/http/connection_upgrade.ts`), and upgrades with
 * `Deno.upgradeWebSocket`; each socket is then served by a
 * {@linkcode WebSocketEchoSession}.
 *
 * What `Deno.upgradeWebSocket` does not bound, the relay does, reading the
 * client's bytes as they come: a message over `maxMessageBytes` is stopped
 * at its frame's header, before the server inside reads any of its payload
 * (`message_size_limit.ts`); and while more than {@linkcode HOLD_BYTES} of
 * echoes wait to be sent, because the client does not read them, the client
 * is not read either, so that its messages wait in its own socket rather
 * than in the service's memory, and nothing it sent is lost.
 *
 * It calls `Deno.upgradeWebSocket` itself, not through Hono's
 * `upgradeWebSocket` helper: that helper is a thin wrapper over the same call,
 * deprecated in Hono 4's `hono/deno` for `@hono/deno` on JSR (which this
 * project cannot reach), and it takes only `Upgrade: websocket` in lower case,
 * where the header's token is case-insensitive (`hasToken` below).
 *
 * @module
 */
import type { IdleTimeouts } from "../echo/echo.ts";
import { closingResponse } from "../http/handler.ts";
import type {
  UpgradableConnection,
  UpgradedConnection,
} from "../http/connection_upgrade.ts";
import { formatHostPort } from "../net/net_addr.ts";
import type { Logger } from "../observability/log.ts";
import { ThrottledLog } from "../observability/throttled_log.ts";
import { Deadlines } from "../waiting/deadlines.ts";
import { MessageSizeLimit } from "./message_size_limit.ts";
import { WebSocketEchoSession, type WebSocketEnd } from "./websocket_echo.ts";
import type { WebSocketMetrics } from "./websocket_metrics.ts";

/**
 * The echoes a socket may have waiting to be sent before its client is read
 * no more, until they are out.
 */
export const HOLD_BYTES = 64 * 1024;

/** What {@linkcode serveWebSockets} needs. */
export interface ServeWebSocketsOptions {
  /** Where each WebSocket's end and the limit are told. */
  logger: Logger;
  /** What the WebSockets count. */
  metrics: WebSocketMetrics;
  /** WebSockets open at once; an upgrade over it gets 503. */
  maxConnections: number;
  /** The longest message payload; a longer one closes the socket with 1009. */
  maxMessageBytes: number;
  /** How long a WebSocket may go with no message: TCP echo's timeouts. */
  timeouts: IdleTimeouts;
  /**
   * Once the service has closed a socket, how long the client has to answer
   * before its connection is cut.
   * @default {1000}
   */
  drainMs?: number;
  /** Sent to each client as its first text message, when set. */
  banner?: string;
}

/** The WebSocket echo: the handler of `GET /ws`, served until it is closed. */
export interface WebSocketEcho {
  /** Answers `GET /ws`: the request, and the connection it came on. */
  handler: (request: Request, connection?: UpgradableConnection) => Response;
  /**
   * Shuts the WebSockets down, and settles once every one has ended and
   * closed its connection: each client has `drainMs` to answer the close
   * (1001, which `Deno.serve`'s own shutdown sends) before its connection is
   * cut. Calling it again returns the same promise.
   */
  close(): Promise<void>;
}

/**
 * The handler of `GET /ws`. A request that is no WebSocket handshake gets
 * 426 (no `Upgrade: websocket`) or 400; one over `maxConnections` 503; one
 * that is not alone and first on its connection 400 (see
 * `UpgradableConnection.upgrade`); each of them closes its connection. The
 * others are upgraded with no subprotocol, served until they end, and then
 * logged as one `websocket ended` line with the messages and bytes echoed.
 * A WebSocket counts against the limit until both of its sockets are closed.
 * {@linkcode WebSocketEcho.close} ends every one for shutdown.
 *
 * @example
 * ```ts
 * import { serveWebSockets } from "./serve_websockets.ts";
 * import { Logger } from "../observability/log.ts";
 * import { createWebSocketMetrics } from "./websocket_metrics.ts";
 * import assert from "node:assert/strict";
 *
 * const webSockets = serveWebSockets({
 *   logger: new Logger("warning"),
 *   metrics: createWebSocketMetrics(),
 *   maxConnections: 1024,
 *   maxMessageBytes: 65_536,
 *   timeouts: { initialMs: 5_000, refreshMs: 30_000 },
 * });
 * const response = webSockets.handler(new Request("http://localhost/ws"));
 * assert.equal(response.status, 426);
 * await response.body?.cancel();
 * await webSockets.close(); // none open: at once
 * ```
 */
export function serveWebSockets(
  options: ServeWebSocketsOptions,
): WebSocketEcho {
  const { logger, metrics, maxConnections, maxMessageBytes } = options;
  // Aborted by close(): every session watches it, through one listener.
  const closing = new AbortController();
  const { signal } = closing;
  const deadlines = new Deadlines();
  const rejections = new ThrottledLog(logger, { signal });
  let open = 0;
  let nextId = 1;
  const allEnded = Promise.withResolvers<void>();
  const settleOnceAllEnded = () => {
    if (signal.aborted && open === 0) allEnded.resolve();
  };
  const handler = (request: Request, connection?: UpgradableConnection) => {
    const problem = handshakeProblem(request);
    if (problem !== undefined) return problem;
    if (open >= maxConnections) {
      metrics.accepted.inc();
      metrics.rejected.inc();
      rejections.warning("websocket connection limit reached", {
        max_connections: maxConnections,
      });
      return closingResponse(503, "too many WebSockets open");
    }
    const limit = new MessageSizeLimit(maxMessageBytes);
    // Set once upgraded: the relay asks for them only from then on.
    const client: { socket?: WebSocket; session?: WebSocketEchoSession } = {};
    const upgraded = connection?.upgrade({
      passClientData(data) {
        const { within, over } = limit.scan(data);
        if (over) client.session?.messageTooBig(limit.messages);
        return within;
      },
      holdClient: () => (client.socket?.bufferedAmount ?? 0) > HOLD_BYTES,
    });
    if (upgraded === undefined) {
      return closingResponse(
        400,
        "a WebSocket handshake must be the first request on its connection, " +
          "with nothing sent behind it",
      );
    }
    // The handshake passed Deno's own checks above: this does not throw.
    // Deno's ping and idle timeout are off: the session keeps its own.
    const upgrade = Deno.upgradeWebSocket(request, { idleTimeout: 0 });
    open++;
    metrics.accepted.inc();
    metrics.open.inc();
    const session = client.session = new WebSocketEchoSession(upgrade.socket, {
      ...options,
      signal,
      // Over TLS the relay sees no frames: the session checks sizes itself.
      maxMessageBytes: upgraded.clientDataSeen ? undefined : maxMessageBytes,
      deadlines,
      cut: () => upgraded.cut(),
      counters: { messages: metrics.messages, bytes: metrics.bytesEchoed },
    });
    served(nextId++, session, upgraded, logger).then((reason) => {
      open--;
      metrics.open.dec();
      metrics.ended.inc({ reason });
      settleOnceAllEnded();
    });
    client.socket = upgrade.socket;
    return upgrade.response;
  };
  return {
    handler,
    close() {
      closing.abort();
      settleOnceAllEnded();
      return allEnded.promise;
    },
  };
}

/**
 * Logs how a session ended, once its connection has closed too, so that it
 * counts as open until then: why it ended.
 */
async function served(
  id: number,
  session: WebSocketEchoSession,
  connection: UpgradedConnection,
  logger: Logger,
): Promise<WebSocketEnd> {
  const started = performance.now();
  const { reason, messages, bytes, error } = await session.ended;
  await connection.closed;
  const level = reason === "error" ? "warning" : "info";
  if (logger.isEnabled(level)) {
    logger[level]("websocket ended", {
      client: id,
      remote: formatHostPort(connection.remoteAddr),
      reason,
      messages,
      bytes,
      duration_ms: Math.round(performance.now() - started),
      ...(error === undefined ? {} : { error }),
    });
  }
  return reason;
}

/**
 * The answer to a request that is no WebSocket handshake, checked as
 * `Deno.upgradeWebSocket` checks one, so that it does not throw once the
 * connection is upgraded; undefined for a handshake.
 */
function handshakeProblem(request: Request): Response | undefined {
  if (request.method !== "GET") {
    return new Response("method not allowed", {
      status: 405,
      headers: { allow: "GET" },
    });
  }
  if (!hasToken(request.headers.get("upgrade"), "websocket")) {
    const response = closingResponse(
      426,
      "GET /ws is a WebSocket: upgrade to one",
    );
    response.headers.set("upgrade", "websocket");
    return response;
  }
  if (!hasToken(request.headers.get("connection"), "upgrade")) {
    return closingResponse(
      400,
      "a WebSocket handshake needs Connection: Upgrade",
    );
  }
  if (!request.headers.has("sec-websocket-key")) {
    return closingResponse(
      400,
      "a WebSocket handshake needs Sec-WebSocket-Key",
    );
  }
  return undefined;
}

/** Whether a comma-separated header `value` has `token`, in any case. */
function hasToken(value: string | null, token: string): boolean {
  return value?.split(",").some((item) =>
    item.trim().toLowerCase() === token
  ) ?? false;
}
