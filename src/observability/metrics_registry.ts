/**
 * The prom-client registry that writes the service's metrics out, made on
 * the first scrape: prom-client is CommonJS, and its first load takes longer
 * than the rest of the service takes to start, so `metrics.ts` imports this
 * module only when `/metrics` is asked for.
 *
 * @module
 */
import type { Metric } from "prom-client";
import type { PlainMetric } from "./plain_metrics.ts";
import { registerProcessMetrics } from "./process_metrics.ts";
import { Registry } from "./prometheus.ts";

/**
 * A registry that reads `metrics` on each scrape, in their order, with the
 * process metrics, and the build info of the service at `version`, after
 * them.
 *
 * @example
 * ```ts
 * import { createRegistry } from "./metrics_registry.ts";
 * import { Counter } from "./plain_metrics.ts";
 * import assert from "node:assert/strict";
 *
 * const jobs = new Counter({ name: "jobs_total", help: "Jobs done." });
 * const registry = createRegistry([jobs], "1.2.0");
 * jobs.inc();
 * assert.match(await registry.metrics(), /^jobs_total 1$/m);
 * ```
 */
export function createRegistry(
  metrics: readonly PlainMetric[],
  version: string,
): Registry {
  const registry = new Registry();
  // A registry asks of a metric only its name and get(), which plain metrics
  // answer as prom-client's own do.
  for (const metric of metrics) {
    registry.registerMetric(metric as unknown as Metric);
  }
  registerProcessMetrics(registry, version);
  return registry;
}
