/**
 * The service's metrics: the echo server's, the HTTP server's and the log's,
 * plain counts the service updates from its first connection, and the text
 * `GET /metrics` writes out, made by prom-client, which is loaded on the
 * first scrape rather than before the ports open.
 *
 * @module
 */
import { createEchoMetrics, type EchoMetrics } from "./echo/echo_metrics.ts";
import { createHttpMetrics, type HttpMetrics } from "./http/http_metrics.ts";
import { type MetricsText, metricsText } from "./observability/metrics_text.ts";
import { Counter } from "./observability/plain_metrics.ts";
import { VERSION } from "./version.ts";

/** The log's metrics. */
export interface LogMetrics {
  /** Log lines dropped because standard error was not read in time. */
  linesDropped: Counter;
}

/** Every metric of the service, and the text `GET /metrics` writes out. */
export interface ServiceMetrics {
  /** What `GET /metrics` writes out: these and the process metrics. */
  text: MetricsText;
  echo: EchoMetrics;
  http: HttpMetrics;
  log: LogMetrics;
}

/**
 * Creates the service's metrics, with the process metrics beside them in
 * their text. Every name starts `echoserver_`, `process_` or `deno_`.
 * Creating them loads nothing; the first `text.read()` loads
 * prom-client, and each reads the counts as they are then.
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
  const log: LogMetrics = {
    linesDropped: new Counter({
      name: "echoserver_log_lines_dropped_total",
      help: "Log lines dropped because standard error was not read in time.",
    }),
  };
  const all = [echo, http, log].flatMap((group) => Object.values(group));
  return { text: metricsText(all, VERSION), echo, http, log };
}
