import { HTTP_CONNECTION_ENDS } from "./connection_ends.ts";
import { Counter, Gauge } from "../observability/plain_metrics.ts";

/** The HTTP server's metrics. */
export interface HttpMetrics {
  /** Requests answered, by route (`other` for an unknown path) and status. */
  requests: Counter<"route" | "status">;
  /** Connections open now, counted until every descriptor is closed. */
  open: Gauge;
  /** Connections accepted, including those then rejected. */
  accepted: Counter;
  /**
   * Connections closed at once because `--http-max-connections` were open,
   * each with a request in flight.
   */
  rejected: Counter;
  /**
   * Connections with no request in flight closed early, at
   * `--http-max-connections`, to make room for a new one; each also ends.
   */
  evicted: Counter;
  /** Connections that ended, by reason: one of `HTTP_CONNECTION_ENDS`. */
  ended: Counter<"reason">;
  /**
   * Clients that failed before they were accepted, and times the server
   * inside stopped accepting (such as out of descriptors), by error code.
   */
  acceptErrors: Counter<"code">;
}

/**
 * Creates the HTTP server's metrics, every name starting `echoserver_http_`,
 * with a count of 0 for each way a connection ends, so that a rate over any
 * of them is defined from the start.
 *
 * @example
 * ```ts
 * import { createHttpMetrics } from "./http_metrics.ts";
 * import assert from "node:assert/strict";
 *
 * const metrics = createHttpMetrics();
 * metrics.requests.inc({ route: "/healthcheck", status: 200 });
 * assert.equal(metrics.requests.get().values[0].value, 1);
 * ```
 */
export function createHttpMetrics(): HttpMetrics {
  const metrics: HttpMetrics = {
    requests: new Counter({
      name: "echoserver_http_requests_total",
      help: "HTTP requests answered, by route and status.",
      labelNames: ["route", "status"],
    }),
    open: new Gauge({
      name: "echoserver_http_connections_open",
      help: "HTTP connections open now.",
    }),
    accepted: new Counter({
      name: "echoserver_http_connections_accepted_total",
      help: "HTTP connections accepted, including those then rejected.",
    }),
    rejected: new Counter({
      name: "echoserver_http_connections_rejected_total",
      help:
        "HTTP connections closed at once: --http-max-connections were open.",
    }),
    evicted: new Counter({
      name: "echoserver_http_connections_evicted_total",
      help:
        "HTTP connections with no request in flight closed early to make room at --http-max-connections.",
    }),
    ended: new Counter({
      name: "echoserver_http_connections_ended_total",
      help: `HTTP connections that ended, by reason: ${
        HTTP_CONNECTION_ENDS.join(", ")
      }.`,
      labelNames: ["reason"],
    }),
    acceptErrors: new Counter({
      name: "echoserver_http_accept_errors_total",
      help:
        "HTTP clients that failed before they were accepted, and times the server inside stopped accepting, by error code.",
      labelNames: ["code"],
    }),
  };
  for (const reason of HTTP_CONNECTION_ENDS) metrics.ended.inc({ reason }, 0);
  return metrics;
}
