// Plain metrics stand in for prom-client's own: the same updates must come
// out of a prom-client Registry as the same text, series for series.
import assert from "node:assert/strict";
import type { Metric } from "prom-client";
import * as plain from "../src/observability/plain_metrics.ts";
import * as prom from "../src/observability/prometheus.ts";
import type * as PromClient from "prom-client";
import histogram from "prom-client/lib/histogram.js";

/** prom-client's own Histogram, which the service no longer loads: the oracle. */
const PromHistogram = histogram as typeof PromClient.Histogram;

const BUCKETS = [0.01, 0.1, 1, 5];

/** The text a registry of just `metrics` writes. */
function text(metrics: unknown[]): Promise<string> {
  const registry = new prom.Registry();
  for (const metric of metrics) registry.registerMetric(metric as Metric);
  return registry.metrics();
}

Deno.test("plain metrics write the text prom-client's own metrics write for the same updates", async () => {
  const counter = { name: "jobs_total", help: "Jobs, by kind and status." };
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
  const theirs = {
    total: new prom.Counter({
      name: "done_total",
      help: "Done.",
      registers: [],
    }),
    jobs: new prom.Counter({ ...counter, labelNames, registers: [] }),
    open: new prom.Gauge({ name: "open", help: "Open now.", registers: [] }),
    seconds: new PromHistogram({
      name: "s",
      help: "How long.",
      buckets: BUCKETS,
      registers: [],
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
    metrics.jobs.inc();
    metrics.open.inc();
    metrics.open.inc();
    metrics.open.dec();
    for (const seconds of [0, 0.01, 0.011, 4.5, 5, 99, 1e9]) {
      metrics.seconds.observe(seconds);
    }
  }
  const written = await text(Object.values(ours));
  assert.equal(written, await text(Object.values(theirs)));
  assert.match(written, /^s_bucket\{le="0\.01"\} 2$/m);
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
    new PromHistogram({ name: "h", help: "H.", buckets: BUCKETS, registers }),
  ];
  assert.equal(await text(ours), await text(theirs));
});
