import type { PlainMetric } from "./plain_metrics.ts";

/** What `GET /metrics` writes out: every metric, in the Prometheus text format. */
export interface MetricsText {
  /** The text's media type. */
  readonly contentType: string;
  /** Every metric's samples now, as text. */
  read(): Promise<string>;
}

/** The Prometheus text format, version 0.0.4, as prom-client writes it. */
const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/**
 * The text of `metrics`, with the process metrics and the build info of the
 * service at `version`, from a registry made on the first call.
 */
export function metricsText(
  metrics: PlainMetric[],
  version: string,
): MetricsText {
  let registry: Promise<{ metrics(): Promise<string> }> | undefined;
  return {
    contentType: PROMETHEUS_CONTENT_TYPE,
    async read() {
      registry ??= import("./metrics_registry.ts").then((module) =>
        module.createRegistry(metrics, version)
      );
      return await (await registry).metrics();
    },
  };
}
