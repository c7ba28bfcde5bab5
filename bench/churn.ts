/**
 * The cost of the per-connection log line: connection churn (short
 * connections a second) of the service at `--log-level info` against
 * `warning`, with stderr to a file, in pairs whose order alternates by round.
 * Each pair gives one info ÷ warning ratio of rates, and one of server CPU
 * per connection (warning ÷ info, so that both read "info runs at N x the
 * speed of warning"); the medians of those are the figures. On a busy
 * machine the CPU ratio is the steadier of the two.
 *
 * @module
 */
import { runLoadgen } from "./clients.ts";
import { cpuSeconds, ROOT } from "./processes.ts";
import type { FigureKey } from "./results.ts";
import type { Bench } from "./scenarios.ts";
import { SERVERS, type ServerSpec, startServer } from "./servers.ts";
import { BUSY_CONNECTIONS } from "./settings.ts";

/** loadgen's `churn` output. */
interface ChurnResult {
  connections: number;
  seconds: number;
}

const LEVELS = {
  info: { rate: "churnInfoRate", cpu: "churnInfoCpu" },
  warning: { rate: "churnWarningRate", cpu: "churnWarningCpu" },
} as const satisfies Record<string, Record<string, FigureKey>>;

/** One level's run: connections a second, and server CPU µs for each. */
interface Churn {
  rate: number;
  cpuMicros: number;
}

type Level = keyof typeof LEVELS;

const STDERR_DIR = `${ROOT}bench/.build`;

/**
 * Runs the churn at both levels, in the order that `round` picks, and
 * records each rate and their ratio; a failure is recorded and ends the pair.
 */
export async function benchChurn(bench: Bench, round: number): Promise<void> {
  const levels: Level[] = round % 2 ? ["warning", "info"] : ["info", "warning"];
  const runs: Partial<Record<Level, Churn>> = {};
  for (const level of levels) {
    try {
      runs[level] = await churnAt(bench, level);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      bench.results.failures.push(`churn at ${level}: ${message}`);
      console.error(`FAILED churn at ${level}: ${message}`);
      return;
    }
    bench.results.add(LEVELS[level].rate, "service", runs[level].rate);
    bench.results.add(LEVELS[level].cpu, "service", runs[level].cpuMicros);
  }
  const { info, warning } = runs as Record<Level, Churn>;
  bench.results.add("churnInfoRatio", "service", info.rate / warning.rate);
  bench.results.add(
    "churnInfoCpuRatio",
    "service",
    warning.cpuMicros / info.cpuMicros,
  );
}

/** The service's churn at `level`, with its stderr going to a file. */
async function churnAt(bench: Bench, level: Level): Promise<Churn> {
  const { settings: { warmupMs, durationMs } } = bench;
  await Deno.mkdir(STDERR_DIR, { recursive: true });
  const server = await startServer(churnSpec(level));
  try {
    const running = runLoadgen<ChurnResult>(bench.clients, [
      ...["churn", server.ports.echo, BUSY_CONNECTIONS, warmupMs, durationMs],
    ], warmupMs + durationMs);
    // The server's CPU over the measured window: from the warm-up's end to
    // the client's.
    await new Promise((resolve) => setTimeout(resolve, warmupMs));
    const cpuFrom = await cpuSeconds(server.pid);
    const run = await running;
    const cpuTo = await cpuSeconds(server.pid);
    if (run.cpu !== undefined) {
      bench.results.addCpu("churn", "service", run.cpu);
    }
    const metrics = await fetch(`http://127.0.0.1:${server.ports.http}/metrics`)
      .then((response) => response.text());
    const dropped = metrics.match(
      /^echoserver_log_lines_dropped_total (\S+)$/m,
    );
    if (Number(dropped?.[1]) !== 0) {
      throw new Error(`log lines dropped with stderr to a file: ${dropped}`);
    }
    const { connections, seconds } = run.result;
    return {
      rate: connections / seconds,
      cpuMicros: (cpuTo! - cpuFrom!) * 1e6 / connections,
    };
  } finally {
    await server.stop();
  }
}

/** The service at `level`, run by sh so that its stderr is a file. */
function churnSpec(level: Level): ServerSpec {
  const service = SERVERS.find((spec) => spec.name === "service")!;
  const stderr = `${STDERR_DIR}/churn-${level}.stderr`;
  return {
    ...service,
    label: `service at ${level}`,
    argv: [
      ...["sh", "-c", `exec "$@" 2>'${stderr}'`, "sh"],
      ...service.argv,
      ...["--log-level", level],
    ],
  };
}
