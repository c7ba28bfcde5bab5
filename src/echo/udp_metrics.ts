import { Counter } from "../observability/plain_metrics.ts";

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

/** Why a datagram is not echoed: the `reason` label of `dropped`. */
const DROP_REASONS = ["busy", "source_port"] as const;

/**
 * Creates the UDP echo's metrics, every name starting `echoserver_udp_`,
 * with a count of 0 for each reason a datagram is dropped, so that a rate
 * over any of them is defined from the start. They exist with UDP off too,
 * at 0, and this module loads nothing of the UDP echo itself.
 *
 * @example
 * ```ts
 * import { createUdpMetrics } from "./udp_metrics.ts";
 * import assert from "node:assert/strict";
 *
 * const metrics = createUdpMetrics();
 * metrics.dropped.inc({ reason: "busy" });
 * const busy = metrics.dropped.get().values.find((v) => v.labels.reason === "busy");
 * assert.equal(busy?.value, 1);
 * ```
 */
export function createUdpMetrics(): UdpMetrics {
  const metrics: UdpMetrics = {
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
  for (const reason of DROP_REASONS) metrics.dropped.inc({ reason }, 0);
  return metrics;
}
