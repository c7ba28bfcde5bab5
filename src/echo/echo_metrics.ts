import { ECHO_ENDS } from "./echo_stream.ts";
import { Counter, Gauge, Histogram } from "../observability/plain_metrics.ts";

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

/** Connection duration buckets, in seconds: from a quick exchange to hours. */
const DURATION_BUCKETS = [0.01, 0.1, 1, 5, 10, 30, 60, 300, 1800, 3600];

/**
 * Creates the echo server's metrics, every name starting
 * `echoserver_echo_`, with a count of 0 for each way a connection ends, so
 * that a rate over any of them is defined from the start.
 *
 * @example
 * ```ts
 * import { createEchoMetrics } from "./echo_metrics.ts";
 * import assert from "node:assert/strict";
 *
 * const metrics = createEchoMetrics();
 * metrics.ended.inc({ reason: "idle" });
 * const idle = metrics.ended.get().values.find((v) => v.labels.reason === "idle");
 * assert.equal(idle?.value, 1);
 * ```
 */
export function createEchoMetrics(): EchoMetrics {
  const metrics: EchoMetrics = {
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
  for (const reason of ECHO_ENDS) metrics.ended.inc({ reason }, 0);
  return metrics;
}
