/**
 * The figures the benchmark reports, the runs collected for them, and their
 * medians, ratios and targets.
 *
 * @module
 */
import type { ServerName } from "./servers.ts";
import { BUSY_CONNECTIONS } from "./settings.ts";

/** The scenarios driven by a load client whose CPU use is recorded. */
export type LoadScenario =
  | "pingpong1"
  | "pingpong50"
  | "stream"
  | "health"
  | "churn"
  | "tlsStream"
  | "tlsHandshakes"
  | "websocket"
  | "udp1"
  | "udp50";

/** A summary of one figure, as a target sees it. */
export interface Summary {
  /** The median of each server's runs, where it has any. */
  median: Partial<Record<ServerName, number>>;
  /** The service's median divided by each baseline's. */
  ratio: Ratios;
}

/** The service's ratio to each baseline. */
export type Ratios = { toDeno?: number; toNode?: number };

/** A goal of the project for one figure. */
export interface Target {
  text: string;
  /** Whether the summary meets it; undefined when a figure is missing. */
  met(summary: Summary): boolean | undefined;
  /**
   * Where the target lies on each ratio to a baseline, for the chart: the
   * least (the most, for a figure better lower) ratio that meets it.
   */
  ratios(summary: Summary): Ratios;
}

/** What one figure is. */
export interface Figure {
  label: string;
  better: "higher" | "lower";
  /** The scenario whose load client produced it. */
  scenario?: LoadScenario;
  target?: Target;
  /**
   * Whether it is a ratio of two of each server's own runs (such as a burst
   * over 1 byte), which no baseline's figure divides.
   */
  paired?: boolean;
}

/** A load client at or above this share of a core makes ratios meaningless. */
export const CLIENT_BOUND = 0.9;

const busy = `${BUSY_CONNECTIONS} conns`;

/** Every reported figure, in table order. */
export const FIGURES = {
  pingpong1Rate: fig("ping-pong 1 conn, msgs/s", "higher", "pingpong1"),
  pingpong1P50: fig("ping-pong 1 conn, p50 µs", "lower", "pingpong1"),
  pingpong1P99: fig("ping-pong 1 conn, p99 µs", "lower", "pingpong1"),
  pingpong50Rate: fig(
    `ping-pong ${busy}, msgs/s`,
    "higher",
    "pingpong50",
    ratioTarget({ toNode: 1.0, toDeno: 0.95 }),
  ),
  pingpong50P50: fig(`ping-pong ${busy}, p50 µs`, "lower", "pingpong50"),
  pingpong50P99: fig(`ping-pong ${busy}, p99 µs`, "lower", "pingpong50"),
  streamRate: fig(
    "stream 64 KiB writes, MB/s",
    "higher",
    "stream",
    ratioTarget({ toDeno: 0.95 }),
  ),
  healthRate: fig(
    `health check ${busy}, req/s`,
    "higher",
    "health",
    // To be re-measured with `bench/run.ts --http` once the HTTP port is
    // hardened (descriptors held past their deadlines): probes and scrapers
    // are its clients, so the target then becomes ≥0.75x, with its server
    // CPU per request compared and both TLS figures still ≥0.95x.
    ratioTarget({ toDeno: 0.95 }),
  ),
  healthCpu: fig("health check, server CPU µs/req", "lower"),
  websocketRate: fig(
    `WebSocket ping-pong ${busy}, msgs/s`,
    "higher",
    "websocket",
  ),
  websocketP50: fig(
    `WebSocket ping-pong ${busy}, p50 µs`,
    "lower",
    "websocket",
  ),
  websocketP99: fig(
    `WebSocket ping-pong ${busy}, p99 µs`,
    "lower",
    "websocket",
  ),
  churnWarningRate: fig(`churn ${busy}, warning, conns/s`, "higher", "churn"),
  churnInfoRate: fig(`churn ${busy}, info, conns/s`, "higher", "churn"),
  churnInfoRatio: fig(
    "churn info ÷ warning, paired",
    "higher",
    undefined,
    pairedTarget(0.90, "higher"),
  ),
  churnWarningCpu: fig("churn, warning, server CPU µs/conn", "lower"),
  churnInfoCpu: fig("churn, info, server CPU µs/conn", "lower"),
  churnInfoCpuRatio: fig(
    "churn CPU/conn warning ÷ info, paired",
    "higher",
    undefined,
    pairedTarget(0.90, "higher"),
  ),
  tlsStreamRate: fig(
    "TLS stream 64 KiB writes, MB/s",
    "higher",
    "tlsStream",
    ratioTarget({ toDeno: 0.95 }),
  ),
  tlsHandshakeRate: fig(
    "TLS handshakes, 1 client, per s",
    "higher",
    "tlsHandshakes",
    ratioTarget({ toDeno: 0.95 }),
  ),
  udp1Rate: fig("UDP ping-pong 1 socket, datagrams/s", "higher", "udp1"),
  udp50Rate: fig(
    `UDP ping-pong ${BUSY_CONNECTIONS} sockets, datagrams/s`,
    "higher",
    "udp50",
    ratioTarget({ toDeno: 0.95 }),
  ),
  udp50P99: fig(
    `UDP ping-pong ${BUSY_CONNECTIONS} sockets, p99 µs`,
    "lower",
    "udp50",
  ),
  idleKiB: fig(
    "idle memory, 1 byte echoed, KiB/conn",
    "lower",
    undefined,
    limitTarget(10, "KiB", true),
  ),
  burstBaseKiB: fig(
    "idle memory, 1 byte echoed, as many as bursts, KiB/conn",
    "lower",
  ),
  burstIdleKiB: fig(
    "idle after a 64 KiB burst, KiB/conn",
    "lower",
    undefined,
    limitTarget(12, "KiB", true),
  ),
  burstOverBase: {
    ...fig(
      "idle after a burst ÷ after 1 byte, paired",
      "lower",
      undefined,
      pairedTarget(1.3, "lower"),
    ),
    paired: true,
  },
  startMs: fig(
    "start to ready (echo accepts, /healthcheck 200), ms",
    "lower",
    undefined,
    ratioTarget({ toDeno: 1.25 }, "lower"),
  ),
  startOverDeno: {
    ...fig(
      "start to ready ÷ bare Deno's in the same turn, paired",
      "lower",
      undefined,
      pairedTarget(1.25, "lower"),
    ),
    paired: true,
  },
  stopMs: fig(
    "stop request to exit, ms",
    "lower",
    undefined,
    limitTarget(100, "ms", false),
  ),
} satisfies Record<string, Figure>;

/** The name of a figure in {@linkcode FIGURES} and in results.json. */
export type FigureKey = keyof typeof FIGURES;

/** A figure with its runs, medians, ratios and client CPU. */
export interface FigureResult extends Summary {
  key: FigureKey;
  figure: Figure;
  runs: Partial<Record<ServerName, number[]>>;
  /** Whether the target is met; undefined without target or figures. */
  met?: boolean;
  /** The highest median client CPU share over the servers. */
  clientCpu?: number;
}

/** Everything one benchmark run measured, as it comes in. */
export class Results {
  readonly #runs = new Map<FigureKey, Partial<Record<ServerName, number[]>>>();
  readonly #cpu = new Map<
    LoadScenario,
    Partial<Record<ServerName, number[]>>
  >();
  /** What went wrong, one line each; any makes the run fail. */
  readonly failures: string[] = [];

  /** Records one run's value of a figure. */
  add(key: FigureKey, server: ServerName, value: number): void {
    push(this.#runs, key, server, value);
  }

  /** Records the load client's CPU share in one run of a scenario. */
  addCpu(scenario: LoadScenario, server: ServerName, share: number): void {
    push(this.#cpu, scenario, server, share);
  }

  /** Each load scenario's client CPU shares, by server. */
  clientCpu(): Partial<
    Record<LoadScenario, Partial<Record<ServerName, number[]>>>
  > {
    return Object.fromEntries(this.#cpu);
  }

  /** Every figure with its medians and ratios, in table order. */
  figures(): FigureResult[] {
    return Object.entries(FIGURES).map(([name, figure]) => {
      const key = name as FigureKey;
      const runs = this.#runs.get(key) ?? {};
      const median = mapValues(runs, medianOf);
      const ratio = figure.paired ? {} : {
        toDeno: divide(median.service, median.deno),
        toNode: divide(median.service, median.node),
      };
      const cpu = figure.scenario && this.#cpu.get(figure.scenario);
      const cpuMedians = Object.values(mapValues(cpu ?? {}, medianOf));
      return {
        key,
        figure,
        runs,
        median,
        ratio,
        met: figure.target?.met({ median, ratio }),
        clientCpu: cpuMedians.length ? Math.max(...cpuMedians) : undefined,
      };
    });
  }
}

/** The median of a non-empty list. */
export function medianOf(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? sorted[middle]
    : (sorted[middle - 1] + sorted[middle]) / 2;
}

function fig(
  label: string,
  better: Figure["better"],
  scenario?: LoadScenario,
  target?: Target,
): Figure {
  return { label, better, scenario, target };
}

/**
 * At least these ratios to the baselines named; at most, for a figure better
 * lower.
 */
function ratioTarget(
  bound: Ratios,
  better: Figure["better"] = "higher",
): Target {
  const names = { toNode: "Node", toDeno: "Deno" } as const;
  const entries = Object.entries(bound) as [keyof Ratios, number][];
  return {
    text: entries.map(([to, ratio]) =>
      `${better === "higher" ? "≥" : "≤"}${
        ratio.toFixed(2).replace(/0$/, "")
      }x ${names[to]}`
    )
      .join(", "),
    met: ({ ratio }) =>
      all(...entries.map(([to, bound]) => within(ratio[to], bound, better))),
    ratios: () => bound,
  };
}

/** The service's own figure at most `limit` (below it, unless `inclusive`). */
function limitTarget(limit: number, unit: string, inclusive: boolean): Target {
  return {
    text: `${inclusive ? "≤" : "<"}${limit} ${unit}`,
    met: ({ median }) => below(median.service, limit, inclusive),
    ratios: ({ median }) => ({
      toDeno: divide(limit, median.deno),
      toNode: divide(limit, median.node),
    }),
  };
}

/**
 * A paired figure of the service alone, such as info ÷ warning, at least
 * `bound`; at most, for a figure better lower.
 */
function pairedTarget(bound: number, better: Figure["better"]): Target {
  return {
    text: `${better === "higher" ? "≥" : "≤"}${bound.toFixed(2)}`,
    met: ({ median }) => within(median.service, bound, better),
    ratios: () => ({}),
  };
}

/** Whether `value` is at least `bound`, or at most for a figure better lower. */
function within(
  value: number | undefined,
  bound: number,
  better: Figure["better"],
): boolean | undefined {
  if (value === undefined) return undefined;
  return better === "higher" ? value >= bound : value <= bound;
}

function all(...checks: (boolean | undefined)[]): boolean | undefined {
  return checks.includes(undefined) ? undefined : checks.every(Boolean);
}

function below(
  value: number | undefined,
  limit: number,
  inclusive: boolean,
): boolean | undefined {
  if (value === undefined) return undefined;
  return inclusive ? value <= limit : value < limit;
}

function divide(a?: number, b?: number): number | undefined {
  return a === undefined || b === undefined || b === 0 ? undefined : a / b;
}

function push<K>(
  map: Map<K, Partial<Record<ServerName, number[]>>>,
  key: K,
  server: ServerName,
  value: number,
): void {
  const byServer = map.get(key) ?? {};
  (byServer[server] ??= []).push(value);
  map.set(key, byServer);
}

function mapValues<T, U>(
  record: Partial<Record<ServerName, T>>,
  f: (value: T) => U,
): Partial<Record<ServerName, U>> {
  return Object.fromEntries(
    Object.entries(record).map(([name, value]) => [name, f(value as T)]),
  );
}
