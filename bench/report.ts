/**
 * The benchmark's outputs: a Markdown table with notes, results.json and
 * RESULTS.md.
 *
 * @module
 */
import { type ChartResults, chartSvg } from "./chart.ts";
import type { LoadClients } from "./clients.ts";
import { output, PINNED_CORES, readProc, ROOT } from "./processes.ts";
import { CLIENT_BOUND, type FigureResult, type Results } from "./results.ts";
import type { Settings } from "./settings.ts";

/** The machine the benchmark ran on. */
export interface Machine {
  nproc: number;
  cpuModel: string;
  os: string;
  deno: string;
  node: string;
  /** The 1, 5 and 15 minute load averages when the benchmark began. */
  loadAverage: number[];
}

/** Everything about a finished run besides its figures. */
export interface RunInfo {
  command: string;
  date: Date;
  seconds: number;
  settings: Settings;
  clients: LoadClients;
  /** The descriptor limit of both sides of the idle scenario. */
  fileLimit: number;
  machine: Machine;
}

/**
 * Describes this machine: `nproc`, the CPU model, the OS, the runtimes and
 * how busy it is now.
 */
export async function machineInfo(): Promise<Machine> {
  const cpuinfo = await readProc("cpuinfo") ?? "";
  return {
    nproc: Number(await output("nproc")),
    cpuModel: cpuinfo.match(/^model name\s*:\s*(.*)$/m)?.[1] ?? "unknown",
    os: `${Deno.build.os} ${Deno.osRelease()} ${Deno.build.arch}`,
    deno: Deno.version.deno,
    node: (await output("node", "--version")).replace(/^v/, ""),
    loadAverage: Deno.loadavg().map((load) => Math.round(load * 100) / 100),
  };
}

/** The results table and its notes, in Markdown. */
export function markdown(info: RunInfo, results: Results): string {
  const header = [
    "Figure",
    "Better",
    "Service",
    "Bare Deno",
    "Node",
    "Service/Deno",
    "Service/Node",
    "Target",
    "Met",
    "Client CPU",
  ];
  // A figure no scenario of this run measured (a partial run) has no row.
  const measured = results.figures().filter((f) =>
    Object.keys(f.runs).length > 0
  );
  const rows = measured.map((f) => [
    f.figure.label,
    f.figure.better === "higher" ? "↑" : "↓",
    spread(f.median.service, f.runs.service),
    spread(f.median.deno, f.runs.deno),
    spread(f.median.node, f.runs.node),
    ratio(f.ratio.toDeno),
    ratio(f.ratio.toNode),
    f.figure.target?.text ?? "",
    f.met === undefined ? "" : f.met ? "yes" : "**no**",
    cpu(f.clientCpu),
  ]);
  const table = [header, header.map(() => "---"), ...rows]
    .map((cells) => `| ${cells.join(" | ")} |`).join("\n");
  return `${table}\n\n${
    notes(info, results).map((n) => `- ${n}`).join("\n")
  }\n`;
}

/**
 * Writes results.json and RESULTS.md into the settings' output directory;
 * returns the Markdown table with its notes.
 */
export async function writeReports(
  info: RunInfo,
  results: Results,
): Promise<string> {
  const dir = `${ROOT}${info.settings.outputDir}`;
  await Deno.mkdir(dir, { recursive: true });
  const table = markdown(info, results);
  const json = toJson(info, results);
  await Deno.writeTextFile(
    `${dir}/results.json`,
    JSON.stringify(json, null, 2) + "\n",
  );
  await Deno.writeTextFile(`${dir}/${CHART_FILE}`, chartSvg(json));
  await Deno.writeTextFile(
    `${dir}/RESULTS.md`,
    [
      "# echoserver benchmark results",
      "",
      `Run on ${info.date.toISOString()} (${info.settings.mode} mode, ` +
      `${Math.round(info.seconds)} s) with:`,
      "",
      "```sh",
      info.command,
      "```",
      "",
      `![The service's figures as ratios to each baseline](${CHART_FILE})`,
      "",
      table,
    ].join("\n"),
  );
  return table;
}

function notes(info: RunInfo, results: Results): string[] {
  const { settings, clients } = info;
  const figures = results.figures();
  const bound = figures.filter((f) => (f.clientCpu ?? 0) >= CLIENT_BOUND);
  return [
    `Medians of ${settings.rounds} round(s), each running the service, ` +
    "bare Deno and Node in turn, ± half the runs' range; ratios are " +
    "service ÷ baseline.",
    PINNED_CORES
      ? `Pinned: every server runs on core ${PINNED_CORES.server} and its ` +
        `clients on core ${PINNED_CORES.client} (taskset), so that they ` +
        "never take turns on one core."
      : "Not pinned (one core, or no taskset): the server and its clients " +
        "share the cores, which swings the ratios.",
    `Load: ${settings.warmupMs} ms warm-up + ${settings.durationMs} ms ` +
    `measured per run; echo client ${clients.loadgenName}; health check ` +
    `client ${clients.healthName}.`,
    `Idle: ${settings.idleConnections} connections, each echoing 1 byte; ` +
    "(VmRSS after − VmRSS before) / connections; descriptor limit " +
    `${info.fileLimit} for server and client. After a burst: ` +
    `${settings.burstConnections} connections, one after another, each ` +
    `echoing ${settings.burstBytes / 1024} KiB written at once and then ` +
    `idle, against ${settings.burstConnections} that echo 1 byte, each on ` +
    "a fresh server; the paired figure is each round's burst ÷ 1 byte.",
    "TLS: the same servers over TLS (Deno.listenTls, node:tls) with a " +
    "self-signed P-256 certificate; the stream client is loadgen_deno.ts " +
    "--tls (the C client speaks no TLS); handshakes are full ones from one " +
    "`openssl s_time -new` client.",
    `Start: ${settings.starts} starts of each server per round, in turns, ` +
    "from spawn until the echo port accepts and `GET /healthcheck` answers " +
    "200; the paired figure is the median of the service's start divided " +
    "by bare Deno's in the same turn.",
    "Health check CPU: the server's user + system time over the whole wrk " +
    "run, divided by the requests wrk counted.",
    "Stop: `POST /die` for the service, SIGTERM for the baselines.",
    "Client CPU: the load client's busiest median share of one core.",
    ...bound.map((f) =>
      `${f.figure.label}: client-bound: ratio not meaningful ` +
      `(the client used ${percent(f.clientCpu!)} of a core).`
    ),
    ...results.failures.map((failure) => `FAILED: ${failure}`),
    ...(info.machine.loadAverage[0] >= BUSY_LOAD
      ? ["Other processes were running (see the load average): noisy figures."]
      : []),
    `Machine: ${machineLine(info.machine)}.`,
  ];
}

/** The chart's file name, beside RESULTS.md. */
const CHART_FILE = "results.svg";

/** A 1-minute load average from which the machine was not idle at start. */
const BUSY_LOAD = 0.5;

function toJson(
  info: RunInfo,
  results: Results,
): ChartResults & Record<string, unknown> {
  const figures = results.figures();
  const pick = (f: FigureResult) => ({
    label: f.figure.label,
    better: f.figure.better,
    runs: f.runs,
    median: f.median,
    ratio: f.ratio,
    target: f.figure.target?.text,
    targetRatio: f.figure.target?.ratios(f),
    met: f.met,
    clientCpu: f.clientCpu,
    clientBound: f.clientCpu === undefined
      ? undefined
      : f.clientCpu >= CLIENT_BOUND,
  });
  return {
    date: info.date.toISOString(),
    command: info.command,
    mode: info.settings.mode,
    seconds: Math.round(info.seconds * 10) / 10,
    machine: info.machine,
    pinnedCores: PINNED_CORES ?? null,
    settings: info.settings,
    clients: { echo: info.clients.loadgenName, http: info.clients.healthName },
    fileLimit: info.fileLimit,
    figures: Object.fromEntries(figures.map((f) => [f.key, pick(f)])),
    clientCpuRuns: results.clientCpu(),
    failures: results.failures,
  };
}

function machineLine(machine: Machine): string {
  return `${machine.cpuModel}, nproc ${machine.nproc}, ${machine.os}, ` +
    `Deno ${machine.deno}, Node ${machine.node}; load average ` +
    `${machine.loadAverage.join(" ")} at the start`;
}

function value(n?: number): string {
  if (n === undefined) return "–";
  const size = Math.abs(n);
  if (size >= 1000) return Math.round(n).toLocaleString("en-US");
  return n.toFixed(size >= 100 ? 0 : size >= 10 ? 1 : 2);
}

/** A median with its runs' spread: half their range, as a share of it. */
function spread(median?: number, runs?: number[]): string {
  if (median === undefined || !runs || runs.length < 2 || median === 0) {
    return value(median);
  }
  const half = (Math.max(...runs) - Math.min(...runs)) / 2 / Math.abs(median);
  return `${value(median)} ±${Math.round(half * 100)}%`;
}

function ratio(n?: number): string {
  return n === undefined ? "–" : `${n.toFixed(2)}x`;
}

function cpu(share?: number): string {
  if (share === undefined) return "";
  return share >= CLIENT_BOUND
    ? `${percent(share)} client-bound`
    : percent(share);
}

function percent(share: number): string {
  return `${Math.round(share * 100)}%`;
}
