import { WEBSOCKET_ENDS } from "./websocket_echo.ts";
import { Counter, Gauge } from "../observability/plain_metrics.ts";

/** The WebSocket echo's metrics. */
export interface WebSocketMetrics {
  /** WebSockets open now, counted until every descriptor is closed. */
  open: Gauge;
  /** WebSocket handshakes accepted, including those then rejected. */
  accepted: Counter;
  /** Handshakes answered 503 because `--ws-max-connections` were open. */
  rejected: Counter;
  /** WebSockets that ended, by reason: one of `WEBSOCKET_ENDS`. */
  ended: Counter<"reason">;
  /** Messages echoed. */
  messages: Counter;
  /** Bytes of message payload echoed. */
  bytesEchoed: Counter;
}

/**
 * Creates the WebSocket echo's metrics, every name starting
 * `echoserver_websocket_`, with a count of 0 for each way a WebSocket ends,
 * so that a rate over any of them is defined from the start.
 *
 * @example
 * ```ts
 * import { createWebSocketMetrics } from "./websocket_metrics.ts";
 * import assert from "node:assert/strict";
 *
 * const metrics = createWebSocketMetrics();
 * metrics.ended.inc({ reason: "too_big" });
 * const tooBig = metrics.ended.get().values.find((v) => v.labels.reason === "too_big");
 * assert.equal(tooBig?.value, 1);
 * ```
 */
export function createWebSocketMetrics(): WebSocketMetrics {
  const metrics: WebSocketMetrics = {
    open: new Gauge({
      name: "echoserver_websocket_connections_open",
      help: "WebSocket echo connections open now.",
    }),
    accepted: new Counter({
      name: "echoserver_websocket_connections_accepted_total",
      help: "WebSocket handshakes accepted, including those then rejected.",
    }),
    rejected: new Counter({
      name: "echoserver_websocket_connections_rejected_total",
      help: "WebSocket handshakes refused: --ws-max-connections were open.",
    }),
    ended: new Counter({
      name: "echoserver_websocket_connections_ended_total",
      help: `WebSocket echo connections that ended, by reason: ${
        WEBSOCKET_ENDS.join(", ")
      }.`,
      labelNames: ["reason"],
    }),
    messages: new Counter({
      name: "echoserver_websocket_messages_total",
      help: "WebSocket messages echoed back to clients.",
    }),
    bytesEchoed: new Counter({
      name: "echoserver_websocket_bytes_total",
      help: "Bytes of WebSocket message payload echoed back to clients.",
    }),
  };
  for (const reason of WEBSOCKET_ENDS) metrics.ended.inc({ reason }, 0);
  return metrics;
}
