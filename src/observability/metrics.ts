/**
 * The service's metrics: plain counts the service updates from its first
 * connection, and the text `GET /metrics` writes out, made by prom-client,
 * which is loaded on the first scrape rather than before the ports open.
 *
 * @module
 */
import { ECHO_ENDS } from "../echo/echo.ts";
import { HTTP_CONNECTION_ENDS } from "../http/http_connections.ts";
import {
  Counter,
  Gauge,
  Histogram,
  type PlainMetric,
} from "./plain_metrics.ts";

/** The echo server's metrics. */
export interface EchoMetrics {
  /** Connections being served now. */
  open: Gauge;
  /** Connections accepted, including those then rejected. */
  accepted: Counter;
  /**
   * The same, by the port they came in on: `tls` is `true` for a TLS echo
   * port and `false` for a plain one.
   */
  acceptedByPort: Counter<"tls">;
  /** Connections closed at once because `--max-connections` were open. */
  rejected: Counter;
  /**
   * Silent connections closed early, at `--max-connections`, to make room
   * for a new one; each also ends, as `idle`.
   */
  evicted: Counter;
  /** Served connections that ended, by reason: one of `ECHO_ENDS`. */
  ended: Counter<"reason">;
  /** Clients that failed before they were accepted, by error code. */
  acceptErrors: Counter<"code">;
  /** Bytes echoed, counted as each chunk is written back. */
  bytesEchoed: Counter;
  /** How long served connections lasted, in seconds. */
  duration: Histogram;
}

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

/** The UDP echo's metrics (`--udp`). */
export interface UdpMetrics {
  /** Datagrams echoed back to their sender. */
  datagrams: Counter;
  /** Bytes echoed back, counted as each datagram goes back. */
  bytes: Counter;
  /**
   * Datagrams not echoed, by reason: `busy` (too many echoes were waiting to
   * be sent) or `source_port` (from a port that services send from).
   */
  dropped: Counter<"reason">;
  /** Datagrams whose echo failed, and failed receives, by error code. */
  errors: Counter<"code">;
}

/** Whether the instance wants new clients, as `GET /readyz` says. */
export interface ReadinessMetrics {
  /** 1 while `/readyz` answers 200, 0 while it answers 503. */
  ready: Gauge;
  /** 1 from `POST /readyz/fail` until `POST /readyz/ok`, 0 otherwise. */
  switchedOff: Gauge;
}

/** The log's metrics. */
export interface LogMetrics {
  /** Log lines dropped because standard error was not read in time. */
  linesDropped: Counter;
}

/** What `GET /metrics` writes out: every metric, in the Prometheus text format. */
export interface MetricsText {
  /** The text's media type. */
  readonly contentType: string;
  /** Every metric's samples now. */
  metrics(): Promise<string>;
}

/** Every metric of the service, and the text `GET /metrics` writes out. */
export interface ServiceMetrics {
  registry: MetricsText;
  echo: EchoMetrics;
  http: HttpMetrics;
  log: LogMetrics;
  readiness: ReadinessMetrics;
  udp: UdpMetrics;
}

/** Connection duration buckets, in seconds: from a quick exchange to hours. */
const DURATION_BUCKETS = [0.01, 0.1, 1, 5, 10, 30, 60, 300, 1800, 3600];

/** The Prometheus text format, version 0.0.4, as prom-client writes it. */
const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/**
 * Creates the service's metrics, with the process metrics beside them in
 * their text. Every name starts `echoserver_`, `process_` or `deno_`.
 * Creating them loads nothing; the first `registry.metrics()` loads
 * prom-client, and each reads the counts as they are then.
 *
 * @example
 * ```ts
 * import { createMetrics } from "./metrics.ts";
 * import assert from "node:assert/strict";
 *
 * const metrics = createMetrics();
 * metrics.echo.ended.inc({ reason: "idle" });
 * const text = await metrics.registry.metrics();
 * assert.match(text, /^echoserver_echo_connections_ended_total\{reason="idle"\} 1$/m);
 * ```
 */
export function createMetrics(): ServiceMetrics {
  const echo: EchoMetrics = {
    open: new Gauge({
      name: "echoserver_echo_connections_open",
      help: "Echo connections being served now.",
    }),
    accepted: new Counter({
      name: "echoserver_echo_connections_accepted_total",
      help: "Echo connections accepted, including those then rejected.",
    }),
    acceptedByPort: new Counter({
      name: "echoserver_echo_accepted_by_port_total",
      help:
        "Echo connections accepted, by port: tls is true for a TLS echo port.",
      labelNames: ["tls"],
    }),
    rejected: new Counter({
      name: "echoserver_echo_connections_rejected_total",
      help: "Echo connections closed at once: --max-connections were open.",
    }),
    evicted: new Counter({
      name: "echoserver_echo_connections_evicted_total",
      help:
        "Silent echo connections closed early to make room at --max-connections.",
    }),
    ended: new Counter({
      name: "echoserver_echo_connections_ended_total",
      help: `Served echo connections that ended, by reason: ${
        ECHO_ENDS.join(", ")
      }.`,
      labelNames: ["reason"],
    }),
    acceptErrors: new Counter({
      name: "echoserver_echo_accept_errors_total",
      help:
        "Echo clients that failed before they were accepted, by error code.",
      labelNames: ["code"],
    }),
    bytesEchoed: new Counter({
      name: "echoserver_echo_bytes_total",
      help: "Bytes echoed back to clients.",
    }),
    duration: new Histogram({
      name: "echoserver_echo_connection_duration_seconds",
      help: "How long served echo connections lasted.",
      buckets: DURATION_BUCKETS,
    }),
  };
  const http: HttpMetrics = {
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
  const log: LogMetrics = {
    linesDropped: new Counter({
      name: "echoserver_log_lines_dropped_total",
      help: "Log lines dropped because standard error was not read in time.",
    }),
  };
  const readiness: ReadinessMetrics = {
    ready: new Gauge({
      name: "echoserver_ready",
      help:
        "1 while GET /readyz answers 200; 0 while draining after SIGTERM or switched off by POST /readyz/fail.",
    }),
    switchedOff: new Gauge({
      name: "echoserver_ready_switched_off",
      help: "1 from POST /readyz/fail until POST /readyz/ok.",
    }),
  };
  const udp: UdpMetrics = {
    datagrams: new Counter({
      name: "echoserver_udp_datagrams_total",
      help: "UDP datagrams echoed back to their sender.",
    }),
    bytes: new Counter({
      name: "echoserver_udp_bytes_total",
      help: "Bytes echoed back in UDP datagrams.",
    }),
    dropped: new Counter({
      name: "echoserver_udp_dropped_total",
      help:
        "UDP datagrams not echoed, by reason: busy (too many echoes waiting to be sent), source_port (from a port below 1024 or the echo's own).",
      labelNames: ["reason"],
    }),
    errors: new Counter({
      name: "echoserver_udp_errors_total",
      help: "UDP datagrams whose echo failed, and failed receives, by code.",
      labelNames: ["code"],
    }),
  };
  // Every reason from the start, so that a rate over any of them is defined.
  for (const reason of ECHO_ENDS) echo.ended.inc({ reason }, 0);
  for (const reason of HTTP_CONNECTION_ENDS) http.ended.inc({ reason }, 0);
  for (const reason of ["busy", "source_port"]) udp.dropped.inc({ reason }, 0);
  const groups = [echo, http, log, readiness, udp];
  const all = groups.flatMap((group) => Object.values(group));
  return { registry: metricsText(all), echo, http, log, readiness, udp };
}

/** The text of `metrics`, from a registry made on the first call. */
function metricsText(metrics: PlainMetric[]): MetricsText {
  let registry: Promise<{ metrics(): Promise<string> }> | undefined;
  return {
    contentType: PROMETHEUS_CONTENT_TYPE,
    async metrics() {
      registry ??= import("./metrics_registry.ts").then((module) =>
        module.createRegistry(metrics)
      );
      return await (await registry).metrics();
    },
  };
}
