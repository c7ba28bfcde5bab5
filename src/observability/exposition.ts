/**
 * The Prometheus text exposition format, version 0.0.4: what `GET /metrics`
 * answers and Prometheus reads. Each metric is a `# HELP` line, a `# TYPE`
 * line and a line per sample, `name{label="value",...} value`; metrics are
 * set apart by a blank line. In help text a backslash and a line break are
 * written `\\` and `\n`; in a label value a double quote is `\"` as well.
 *
 * It is written here, from the plain numbers the service counts, rather than
 * by prom-client: that library is CommonJS and took longer to load than the
 * rest of the service took to start, and it read the service's numbers only
 * through its private files and an undocumented shape. The tests hold this
 * writer to prom-client's own text for the same updates.
 *
 * @module
 */
import type { MetricSnapshot } from "./plain_metrics.ts";

/** The media type of the text {@linkcode formatExposition} writes. */
export const EXPOSITION_CONTENT_TYPE =
  "text/plain; version=0.0.4; charset=utf-8";

/**
 * The text of `metrics`, in their order, each with its help and type.
 *
 * @example
 * ```ts
 * import { formatExposition } from "./exposition.ts";
 * import assert from "node:assert/strict";
 *
 * const text = formatExposition([{
 *   name: "jobs_total",
 *   help: "Jobs done,\nby kind.",
 *   type: "counter",
 *   values: [{ labels: { kind: 'say "hi"' }, value: 3 }],
 * }]);
 * assert.equal(text, [
 *   "# HELP jobs_total Jobs done,\\nby kind.",
 *   "# TYPE jobs_total counter",
 *   'jobs_total{kind="say \\"hi\\""} 3',
 *   "",
 * ].join("\n"));
 * ```
 */
export function formatExposition(metrics: readonly MetricSnapshot[]): string {
  return metrics.map(formatMetric).join("\n\n") + "\n";
}

function formatMetric({ name, help, type, values }: MetricSnapshot): string {
  const lines = [`# HELP ${name} ${escape(help)}`, `# TYPE ${name} ${type}`];
  for (const { metricName = name, labels, value } of values) {
    const pairs = Object.entries(labels).map(([label, text]) =>
      `${label}="${escape(String(text)).replaceAll('"', '\\"')}"`
    );
    const braced = pairs.length === 0 ? "" : `{${pairs.join(",")}}`;
    lines.push(`${metricName}${braced} ${formatValue(value)}`);
  }
  return lines.join("\n");
}

/** `text` with each backslash and line break escaped. */
function escape(text: string): string {
  return text.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
}

/** A sample's value as Go's `strconv.ParseFloat` reads it back. */
function formatValue(value: number): string {
  if (Number.isFinite(value) || Number.isNaN(value)) return String(value);
  return value > 0 ? "+Inf" : "-Inf";
}
