import process from "node:process";
import { Counter, Gauge, type Registry } from "./prometheus.ts";

/**
 * Registers the usual process metrics, read from Deno when scraped: CPU time,
 * resident memory, V8 heap, start time, and the build. prom-client's own
 * default metrics read `/proc`, which the service has no permission to read,
 * and would report zeros. `version` is the service's, for its build info.
 *
 * @example
 * ```ts
 * import { registerProcessMetrics } from "./process_metrics.ts";
 * import { Registry } from "./prometheus.ts";
 * import assert from "node:assert/strict";
 *
 * const registry = new Registry();
 * registerProcessMetrics(registry, "1.2.0");
 * const text = await registry.metrics();
 * const rss = Number(/^process_resident_memory_bytes (\d+)$/m.exec(text)?.[1]);
 * assert.ok(rss > 0);
 * ```
 */
export function registerProcessMetrics(
  registry: Registry,
  version: string,
): void {
  const registers = [registry];
  new Counter({
    name: "process_cpu_seconds_total",
    help: "User and system CPU time spent, in seconds.",
    registers,
    collect() {
      const { user, system } = process.cpuUsage();
      this.reset();
      this.inc((user + system) / 1e6);
    },
  });
  new Gauge({
    name: "process_resident_memory_bytes",
    help: "Resident memory size in bytes.",
    registers,
    collect() {
      // Deno reads it from /proc, and says 0 when no descriptor is free to
      // open that with: then the last reading stands.
      const { rss } = Deno.memoryUsage();
      if (rss > 0) this.set(rss);
    },
  });
  new Gauge({
    name: "deno_heap_used_bytes",
    help: "V8 heap in use, in bytes.",
    registers,
    collect() {
      this.set(Deno.memoryUsage().heapUsed);
    },
  });
  new Gauge({
    name: "deno_heap_total_bytes",
    help: "V8 heap reserved, in bytes.",
    registers,
    collect() {
      this.set(Deno.memoryUsage().heapTotal);
    },
  });
  new Gauge({
    name: "process_start_time_seconds",
    help: "Start time of the process since the Unix epoch, in seconds.",
    registers,
  }).set(Math.round(performance.timeOrigin) / 1000);
  new Gauge({
    name: "echoserver_build_info",
    help: "Always 1; the labels name the service and Deno versions.",
    labelNames: ["version", "deno"],
    registers,
  }).set({ version, deno: Deno.version.deno }, 1);
}
