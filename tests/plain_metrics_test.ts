// Plain metrics, written out by the service's own exposition writer, against
// prom-client as the oracle: the same updates to prom-client's own Counter,
// Gauge and Histogram, written out by its Registry, must give the same text,
// line for line. prom-client is loaded here through its public API only; the
// service itself never loads it.
import assert from "node:assert/strict";
import * as prom from "prom-client";
import * as plain from "../src/observability/plain_metrics.ts";
import { formatExposition } from "../src/observability/exposition.ts";

const BUCKETS = [0.01, 0.1, 1, 5];

/** The text prom-client's own Registry writes of `metrics`. */
function theirText(metrics: prom.Metric[]): Promise<string> {
  const registry = new prom.Registry();
  for (const metric of metrics) registry.registerMetric(metric);
  return registry.metrics();
}

/** The text the service writes of `metrics`. */
function ourText(metrics: plain.PlainMetric[]): string {
  return formatExposition(metrics.map((metric) => metric.get()));
}

Deno.test("plain metrics write the text prom-client's own metrics write for the same updates", async () => {
  const counter = {
    name: "jobs_total",
    help: 'Jobs, by kind and status: a \\ and a " and\na line break.',
  };
  const labelNames = ["kind", "status"] as const;
  const ours = {
    total: new plain.Counter({ name: "done_total", help: "Done." }),
    jobs: new plain.Counter({ ...counter, labelNames }),
    open: new plain.Gauge({ name: "open", help: "Open now." }),
    seconds: new plain.Histogram({
      name: "s",
      help: "How long.",
      buckets: BUCKETS,
    }),
  };
  const registers: prom.Registry[] = [];
  const theirs = {
    total: new prom.Counter({ name: "done_total", help: "Done.", registers }),
    jobs: new prom.Counter({ ...counter, labelNames, registers }),
    open: new prom.Gauge({ name: "open", help: "Open now.", registers }),
    seconds: new prom.Histogram({
      name: "s",
      help: "How long.",
      buckets: BUCKETS,
      registers,
    }),
  };
  for (const metrics of [ours, theirs]) {
    metrics.total.inc();
    metrics.total.inc(41);
    metrics.jobs.inc({ kind: "echo", status: 200 });
    metrics.jobs.inc({ kind: "echo", status: 200 }, 2);
    metrics.jobs.inc({ kind: "echo", status: 404 });
    metrics.jobs.inc({ kind: "other", status: 'a\\b"c\nd' });
    metrics.jobs.inc({ kind: "idle", status: 0 }, 0);
    metrics.jobs.inc({ kind: "fraction", status: 1 }, 0.25);
    metrics.jobs.inc();
    metrics.open.inc();
    metrics.open.inc();
    metrics.open.dec();
    for (const seconds of [0, 0.01, 0.011, 4.5, 5, 99, 1e9, 1e-7]) {
      metrics.seconds.observe(seconds);
    }
  }
  const written = ourText(Object.values(ours));
  assert.equal(written, await theirText(Object.values(theirs)));
  assert.match(written, /^s_bucket\{le="0\.01"\} 3$/m);
  assert.match(
    written,
    /^# HELP jobs_total Jobs, by kind and status: a \\\\ and a " and\\na line break\.$/m,
  );
  assert.match(
    written,
    /^jobs_total\{kind="other",status="a\\\\b\\"c\\nd"\} 1$/m,
  );
});

Deno.test("plain metrics with no updates write what prom-client's write", async () => {
  const ours = [
    new plain.Counter({ name: "c_total", help: "C." }),
    new plain.Counter({ name: "l_total", help: "L.", labelNames: ["l"] }),
    new plain.Gauge({ name: "g", help: "G." }),
    new plain.Histogram({ name: "h", help: "H.", buckets: BUCKETS }),
  ];
  const registers: prom.Registry[] = [];
  const theirs = [
    new prom.Counter({ name: "c_total", help: "C.", registers }),
    new prom.Counter({
      name: "l_total",
      help: "L.",
      labelNames: ["l"],
      registers,
    }),
    new prom.Gauge({ name: "g", help: "G.", registers }),
    new prom.Histogram({ name: "h", help: "H.", buckets: BUCKETS, registers }),
  ];
  assert.equal(ourText(ours), await theirText(theirs));
});
