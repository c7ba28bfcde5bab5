/**
 * Counters, gauges and histograms kept in plain numbers: the service counts
 * into them from its first connection, each count a field update, and
 * `GET /metrics` writes out what each one's `get()` answers
 * (`exposition.ts`). They behave as prom-client's metrics of the same names
 * do, which the tests hold them to.
 *
 * @module
 */

/** A metric's label values, by label name. */
export type Labels<L extends string> = Partial<Record<L, string | number>>;

/** One sample of a metric: one line of its text. */
export interface Sample {
  /** Its label values, by label name; none for a metric without labels. */
  labels: Labels<string>;
  /** Its value now. */
  value: number;
  /** The sample's name, where it is not the metric's (`_bucket`, `_sum`). */
  metricName?: string;
}

/** A metric's samples as they are now: what `get()` returns. */
export interface MetricSnapshot {
  /** The metric's name, as Prometheus queries it. */
  name: string;
  /** What it counts, for its `# HELP` line. */
  help: string;
  /** What kind of metric it is, for its `# TYPE` line. */
  type: "counter" | "gauge" | "histogram";
  /** Its samples, a line each. */
  values: Sample[];
}

/** What every plain metric is: a name, and its samples on demand. */
export interface PlainMetric {
  /** The metric's name. */
  readonly name: string;
  /** Its samples as they are now. */
  get(): MetricSnapshot;
}

/** What names a metric and says what it counts. */
export interface MetricOptions<L extends string> {
  /** Its name: `[a-zA-Z_:][a-zA-Z0-9_:]*`, a counter's ending in `_total`. */
  name: string;
  /** What it counts, in a sentence. */
  help: string;
  /**
   * The names of the labels its samples are told apart by.
   * @default {[]}
   */
  labelNames?: readonly L[];
}

/** What a histogram is besides its name and help. */
export interface HistogramOptions extends MetricOptions<never> {
  /** The upper bounds of the buckets, ascending; `+Inf` is added. */
  buckets: readonly number[];
}

/**
 * A value that only goes up, as prom-client's `Counter`: `inc()`,
 * `inc(amount)`, `inc(labels)` or `inc(labels, amount)`.
 *
 * @example
 * ```ts
 * import { Counter } from "./plain_metrics.ts";
 * import assert from "node:assert/strict";
 *
 * const ended = new Counter({
 *   name: "ended_total",
 *   help: "Ended, by reason.",
 *   labelNames: ["reason"],
 * });
 * ended.inc({ reason: "idle" });
 * ended.inc({ reason: "idle" }, 2);
 * assert.deepEqual(ended.get().values, [{ labels: { reason: "idle" }, value: 3 }]);
 * ```
 */
export class Counter<L extends string = never> implements PlainMetric {
  /** Its name. */
  readonly name: string;
  readonly #help: string;
  readonly #labelNames: readonly L[];
  /** A sample per label set seen, by its values (which hold no NUL). */
  readonly #samples = new Map<string, Sample>();
  /** Without labels: the one sample, there from the start. */
  readonly #only?: Sample;

  /** A counter at 0; with no labels, its one sample is there from the start. */
  constructor({ name, help, labelNames = [] }: MetricOptions<L>) {
    this.name = name;
    this.#help = help;
    this.#labelNames = labelNames;
    if (labelNames.length === 0) this.#only = this.#sample({});
  }

  /** Adds `amount` (1 by default) to the count. */
  inc(amount?: number): void;
  /** Adds `amount` (1 by default) to the count for `labels`. */
  inc(labels: Labels<L>, amount?: number): void;
  inc(labels?: Labels<L> | number, amount = 1): void {
    if (typeof labels === "object") this.#sample(labels).value += amount;
    else (this.#only ?? this.#sample({})).value += labels ?? 1;
  }

  /** Its samples now. */
  get(): MetricSnapshot {
    const values = [...this.#samples.values()].map((sample) => ({
      ...sample,
    }));
    return {
      name: this.name,
      help: this.#help,
      type: "counter",
      values,
    };
  }

  #sample(labels: Labels<L>): Sample {
    let key = "";
    for (const name of this.#labelNames) key += `${labels[name]}\0`;
    let sample = this.#samples.get(key);
    if (sample === undefined) {
      sample = { labels: { ...labels }, value: 0 };
      this.#samples.set(key, sample);
    }
    return sample;
  }
}

/**
 * A value that goes up and down, as prom-client's `Gauge` without labels.
 *
 * @example
 * ```ts
 * import { Gauge } from "./plain_metrics.ts";
 * import assert from "node:assert/strict";
 *
 * const open = new Gauge({ name: "open", help: "Open now." });
 * open.inc();
 * open.inc();
 * open.dec();
 * assert.equal(open.get().values[0].value, 1);
 * open.set(0);
 * assert.equal(open.get().values[0].value, 0);
 * ```
 */
export class Gauge implements PlainMetric {
  /** Its name. */
  readonly name: string;
  readonly #help: string;
  #value = 0;

  /** A gauge at 0. */
  constructor({ name, help }: MetricOptions<never>) {
    this.name = name;
    this.#help = help;
  }

  /** Adds one. */
  inc(): void {
    this.#value++;
  }

  /** Takes one away. */
  dec(): void {
    this.#value--;
  }

  /** Sets it to `value`: for a state, such as 1 for yes and 0 for no. */
  set(value: number): void {
    this.#value = value;
  }

  /** Its sample now. */
  get(): MetricSnapshot {
    const values = [{ labels: {}, value: this.#value }];
    return {
      name: this.name,
      help: this.#help,
      type: "gauge",
      values,
    };
  }
}

/**
 * Observations counted into buckets, as prom-client's `Histogram` without
 * labels: each bucket counts the observations at or below its bound, and
 * the sum and count of all of them are kept beside.
 *
 * @example
 * ```ts
 * import { Histogram } from "./plain_metrics.ts";
 * import assert from "node:assert/strict";
 *
 * const seconds = new Histogram({ name: "s", help: "Seconds.", buckets: [1, 5] });
 * seconds.observe(0.5);
 * seconds.observe(3);
 * const lines = seconds.get().values.map((v) => [v.metricName, v.labels.le, v.value]);
 * assert.deepEqual(lines, [
 *   ["s_bucket", 1, 1],
 *   ["s_bucket", 5, 2],
 *   ["s_bucket", "+Inf", 2],
 *   ["s_sum", undefined, 3.5],
 *   ["s_count", undefined, 2],
 * ]);
 * ```
 */
export class Histogram implements PlainMetric {
  /** Its name: its samples are `_bucket`, `_sum` and `_count` after it. */
  readonly name: string;
  readonly #help: string;
  readonly #bounds: readonly number[];
  /** Observations per bucket, not cumulative; the last is above every bound. */
  readonly #counts: number[];
  #sum = 0;
  #count = 0;

  /** A histogram with no observation yet. */
  constructor({ name, help, buckets }: HistogramOptions) {
    this.name = name;
    this.#help = help;
    this.#bounds = buckets;
    this.#counts = new Array(buckets.length + 1).fill(0);
  }

  /** Counts one observation. */
  observe(value: number): void {
    let bucket = 0;
    while (bucket < this.#bounds.length && value > this.#bounds[bucket]) {
      bucket++;
    }
    this.#counts[bucket]++;
    this.#sum += value;
    this.#count++;
  }

  /** Its buckets (cumulative), sum and count now. */
  get(): MetricSnapshot {
    const bucket = `${this.name}_bucket`;
    let below = 0;
    const buckets = this.#bounds.map((le, i) => ({
      labels: { le },
      value: below += this.#counts[i],
      metricName: bucket,
    }));
    return {
      name: this.name,
      help: this.#help,
      type: "histogram",
      values: [
        ...buckets,
        { labels: { le: "+Inf" }, value: this.#count, metricName: bucket },
        { labels: {}, value: this.#sum, metricName: `${this.name}_sum` },
        { labels: {}, value: this.#count, metricName: `${this.name}_count` },
      ],
    };
  }
}
