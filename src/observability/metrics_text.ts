import { EXPOSITION_CONTENT_TYPE, formatExposition } from "./exposition.ts";
import type { PlainMetric } from "./plain_metrics.ts";
import { ProcessMetrics } from "./process_metrics.ts";

/** What `GET /metrics` writes out: every metric, in the Prometheus text format. */
export interface MetricsText {
  /** The text's media type. */
  readonly contentType: string;
  /** Every metric's samples now, as text. */
  read(): Promise<string>;
}

/**
 * The text of `metrics`, read as they are at each {@linkcode MetricsText.read},
 * with the process metrics after them (`process_metrics.ts`).
 *
 * @example
 * ```ts
 * import { metricsText } from "./metrics_text.ts";
 * import { Counter } from "./plain_metrics.ts";
 * import assert from "node:assert/strict";
 *
 * const jobs = new Counter({ name: "jobs_total", help: "Jobs done." });
 * const text = metricsText([jobs]);
 * jobs.inc();
 * assert.match(await text.read(), /^jobs_total 1$/m);
 * assert.match(await text.read(), /^process_resident_memory_bytes \d+$/m);
 * ```
 */
export function metricsText(metrics: readonly PlainMetric[]): MetricsText {
  const processMetrics = new ProcessMetrics();
  return {
    contentType: EXPOSITION_CONTENT_TYPE,
    async read() {
      const own = metrics.map((metric) => metric.get());
      return formatExposition([...own, ...await processMetrics.read()]);
    },
  };
}
