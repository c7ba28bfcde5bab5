import type { MetricSnapshot } from "./plain_metrics.ts";

/** What `node:process` is asked for: CPU time, which Deno has no call of its own for. */
interface CpuUsage {
  cpuUsage(): { user: number; system: number };
}

/**
 * The usual process metrics, read from Deno at each scrape: CPU time,
 * resident memory, V8 heap and start time. (prom-client's default metrics
 * read `/proc`, which the service has no permission to read.) CPU time comes
 * from `node:process`, which is loaded on the first {@linkcode read}: the
 * first `node:` module starts Deno's Node.js compatibility layer, which costs
 * more than the rest of the service's start.
 *
 * @example
 * ```ts
 * import { ProcessMetrics } from "./process_metrics.ts";
 * import assert from "node:assert/strict";
 *
 * const metrics = await new ProcessMetrics().read();
 * const rss = metrics.find((metric) => metric.name === "process_resident_memory_bytes");
 * assert.ok(rss!.values[0].value > 0);
 * ```
 */
export class ProcessMetrics {
  #process?: Promise<CpuUsage>;
  /** The last resident memory size read that was not 0. */
  #rss = 0;

  /** Each metric's sample now. */
  async read(): Promise<MetricSnapshot[]> {
    this.#process ??= import("node:process").then((module) => module.default);
    const { user, system } = (await this.#process).cpuUsage();
    const { rss, heapUsed, heapTotal } = Deno.memoryUsage();
    // Deno reads it from /proc, and says 0 when no descriptor is free to
    // open that with: then the last reading stands.
    if (rss > 0) this.#rss = rss;
    return [
      one(
        "process_cpu_seconds_total",
        "User and system CPU time spent, in seconds.",
        "counter",
        (user + system) / 1e6,
      ),
      one(
        "process_resident_memory_bytes",
        "Resident memory size in bytes.",
        "gauge",
        this.#rss,
      ),
      one(
        "deno_heap_used_bytes",
        "V8 heap in use, in bytes.",
        "gauge",
        heapUsed,
      ),
      one(
        "deno_heap_total_bytes",
        "V8 heap reserved, in bytes.",
        "gauge",
        heapTotal,
      ),
      one(
        "process_start_time_seconds",
        "Start time of the process since the Unix epoch, in seconds.",
        "gauge",
        Math.round(performance.timeOrigin) / 1000,
      ),
    ];
  }
}

/** A metric of one sample with no labels. */
function one(
  name: string,
  help: string,
  type: "counter" | "gauge",
  value: number,
): MetricSnapshot {
  return { name, help, type, values: [{ labels: {}, value }] };
}
