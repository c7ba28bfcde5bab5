/**
 * The cost of the per-connection log line: connection churn (short
 * connections a second) of the service at `--log-level info` against
 * `warning`, with stderr to a file, in pairs whose order alternates by round.
 * Each pair gives one info ÷ warning ratio; the median of those is the figure.
 *
 * @module
 */
import { runLoadgen } from "./clients.ts";
import { ROOT } from "./processes.ts";
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
  info: "churnInfoRate",
  warning: "churnWarningRate",
} as const satisfies Record<string, FigureKey>;

type Level = keyof typeof LEVELS;

const STDERR_DIR = `${ROOT}bench/.build`;

/**
 * Runs the churn at both levels, in the order that `round` picks, and
 * records each rate and their ratio; a failure is recorded and ends the pair.
 */
export async function benchChurn(bench: Bench, round: number): Promise<void> {
  const levels: Level[] = round % 2 ? ["warning", "info"] : ["info", "warning"];
  const rates: Partial<Record<Level, number>> = {};
  for (const level of levels) {
    try {
      rates[level] = await churnAt(bench, level);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      bench.results.failures.push(`churn at ${level}: ${message}`);
      console.error(`FAILED churn at ${level}: ${message}`);
      return;
    }
    bench.results.add(LEVELS[level], "service", rates[level]);
  }
  bench.results.add("churnInfoRatio", "service", rates.info! / rates.warning!);
}

/** The service's churn rate at `level`, with its stderr going to a file. */
async function churnAt(bench: Bench, level: Level): Promise<number> {
  const { settings: { warmupMs, durationMs } } = bench;
  await Deno.mkdir(STDERR_DIR, { recursive: true });
  const server = await startServer(churnSpec(level));
  try {
    const run = await runLoadgen<ChurnResult>(bench.clients, [
      ...["churn", server.ports.echo, BUSY_CONNECTIONS, warmupMs, durationMs],
    ], warmupMs + durationMs);
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
    return run.result.connections / run.result.seconds;
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
