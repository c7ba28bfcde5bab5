/**
 * The service's metrics: the echo server's, the UDP echo's, the HTTP
 * server's, the WebSocket echo's, the readiness switch's and the log's, plain
 * counts the service updates from its first connection, its build info, and
 * the text `GET /metrics` writes out of them and of the process metrics.
 *
 * @module
 */
import { createEchoMetrics, type EchoMetrics } from "./echo/echo_metrics.ts";
import { createUdpMetrics, type UdpMetrics } from "./echo/udp_metrics.ts";
import { createHttpMetrics, type HttpMetrics } from "./http/http_metrics.ts";
import {
  createReadinessMetrics,
  type ReadinessMetrics,
} from "./http/readiness.ts";
import { type MetricsText, metricsText } from "./observability/metrics_text.ts";
import { Counter, type PlainMetric } from "./observability/plain_metrics.ts";
import { VERSION } from "./version.ts";
import {
  createWebSocketMetrics,
  type WebSocketMetrics,
} from "./websocket/websocket_metrics.ts";

/** The log's metrics. */
export interface LogMetrics {
  /** Log lines dropped because standard error was not read in time. */
  linesDropped: Counter;
}

/** Every metric of the service, and the text `GET /metrics` writes out. */
export interface ServiceMetrics {
  /** What `GET /metrics` writes out: these and the process metrics. */
  text: MetricsText;
  /** What the echo server counts. */
  echo: EchoMetrics;
  /** What the HTTP server counts. */
  http: HttpMetrics;
  /** What the WebSocket echo counts. */
  websocket: WebSocketMetrics;
  /** What the log queue counts. */
  log: LogMetrics;
  /** Whether `GET /readyz` says ready, and whether it is switched off. */
  readiness: ReadinessMetrics;
  /** What the UDP echo counts (`--udp`); all 0 without it. */
  udp: UdpMetrics;
}

/**
 * Creates the service's metrics, with the process metrics beside them in
 * their text. Every name starts `echoserver_`, `process_` or `deno_`.
 * Creating them loads nothing; the first `text.read()` loads `node:process`,
 * for the CPU time, and each reads the counts as they are then.
 *
 * @example
 * ```ts
 * import { createMetrics } from "./metrics.ts";
 * import assert from "node:assert/strict";
 *
 * const metrics = createMetrics();
 * metrics.echo.ended.inc({ reason: "idle" });
 * const text = await metrics.text.read();
 * assert.match(text, /^echoserver_echo_connections_ended_total\{reason="idle"\} 1$/m);
 * ```
 */
export function createMetrics(): ServiceMetrics {
  const echo = createEchoMetrics();
  const http = createHttpMetrics();
  const websocket = createWebSocketMetrics();
  const log: LogMetrics = {
    linesDropped: new Counter({
      name: "echoserver_log_lines_dropped_total",
      help: "Log lines dropped because standard error was not read in time.",
    }),
  };
  const readiness = createReadinessMetrics();
  const udp = createUdpMetrics();
  const groups = [echo, http, websocket, log, readiness, udp];
  const all = groups.flatMap((group) => Object.values(group));
  return {
    text: metricsText([...all, BUILD_INFO]),
    echo,
    http,
    websocket,
    log,
    readiness,
    udp,
  };
}

/** Always 1; its labels name the service's version and Deno's. */
const BUILD_INFO: PlainMetric = {
  name: "echoserver_build_info",
  get: () => ({
    name: "echoserver_build_info",
    help: "Always 1; the labels name the service and Deno versions.",
    type: "gauge",
    values: [{
      labels: { version: VERSION, deno: Deno.version.deno },
      value: 1,
    }],
  }),
};
