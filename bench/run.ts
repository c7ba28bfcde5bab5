/**
 * Benchmarks the echoserver service against a bare Deno server and a Node
 * server on this machine, in alternating rounds, and writes the medians and
 * ratios to a Markdown table (stdout and RESULTS.md) and results.json.
 *
 * ```sh
 * deno run --allow-run --allow-net --allow-read --allow-write --allow-env --allow-sys bench/run.ts [--tiny] [--deno-client] [--churn | --idle | --http | --websocket | --udp]
 * ```
 *
 * With two cores or more, each server runs on core 0 and its clients on
 * core 1 (`taskset`).
 *
 * `--tiny` is a smoke run of a few seconds that writes into bench/.build/;
 * `--deno-client` uses loadgen_deno.ts even when a C compiler is there.
 * Four flags each run one part, in full rounds, and write into
 * bench/.build/: `--churn` the churn pairs (info against warning), in a
 * minute; `--idle` the idle memory, after 1 byte and after a burst; `--http`
 * the health check and the TLS scenarios, which is how to measure what a
 * change to the HTTP port costs against bare Deno + Hono (its server CPU per
 * request is the figure the load client does not blur); `--websocket` the
 * WebSocket ping-pong, against `Deno.upgradeWebSocket` in the bare Deno
 * baseline (Node's has none); `--udp` the UDP echo against bare Deno's and
 * Node's, both on `node:dgram` as the service's is.
 * Exits 1 if any scenario failed, 2 for an unknown flag.
 *
 * @module
 */
import { benchChurn } from "./churn.ts";
import { prepareClients } from "./clients.ts";
import { fileLimit, killAll } from "./processes.ts";
import { machineInfo, writeReports } from "./report.ts";
import { Results } from "./results.ts";
import { makeTestCertificate } from "../tests/_tls.ts";
import {
  type Bench,
  benchIdle,
  benchLoad,
  benchStarts,
  benchTls,
  benchUdp,
} from "./scenarios.ts";
import { SERVERS } from "./servers.ts";
import { FULL, IDLE_FILE_LIMIT, TINY } from "./settings.ts";

/** The parts of a run, in the order each round runs them. */
type Part =
  | "starts"
  | "echo"
  | "health"
  | "websocket"
  | "idle"
  | "tls"
  | "udp"
  | "churn";
const ALL_PARTS: Part[] = [
  "starts",
  "echo",
  "health",
  "websocket",
  "idle",
  "tls",
  "udp",
  "churn",
];
/** The flags that run one part of the benchmark alone. */
const ONE_PART: Record<string, Part[]> = {
  "--churn": ["churn"],
  "--idle": ["idle"],
  "--http": ["health", "tls"],
  "--websocket": ["websocket"],
  "--udp": ["udp"],
};
const FLAGS = ["--tiny", "--deno-client", ...Object.keys(ONE_PART)];
const PERMISSIONS = "--allow-run --allow-net --allow-read --allow-write " +
  "--allow-env --allow-sys";

async function main(args: string[]): Promise<number> {
  const unknown = args.filter((arg) => !FLAGS.includes(arg));
  if (unknown.length > 0) {
    console.error(`bench: unknown flag ${unknown[0]}; flags: ${FLAGS}`);
    return 2;
  }
  const picked = args.filter((arg) => arg in ONE_PART);
  if (picked.length > 1) {
    console.error(`bench: ${picked.join(" and ")} cannot go together`);
    return 2;
  }
  const parts = new Set(picked.length ? ONE_PART[picked[0]] : ALL_PARTS);
  // A partial run leaves the committed results alone.
  const settings = {
    ...(args.includes("--tiny") ? TINY : FULL),
    ...(picked.length ? { outputDir: TINY.outputDir } : {}),
  };
  const date = new Date();
  const started = performance.now();
  const machine = await machineInfo();
  const bench: Bench = {
    settings,
    clients: await prepareClients(settings, args.includes("--deno-client")),
    fileLimit: await fileLimit(IDLE_FILE_LIMIT),
    tls: await makeTestCertificate(),
    results: new Results(),
  };
  const load = {
    echo: parts.has("echo"),
    health: parts.has("health"),
    websocket: parts.has("websocket"),
  };
  const perServer = load.echo || load.health || load.websocket ||
    parts.has("idle") || parts.has("tls") || parts.has("udp");
  for (let round = 1; round <= settings.rounds; round++) {
    const now = `round ${round}/${settings.rounds}`;
    if (parts.has("starts")) {
      console.error(`${now}: starts`);
      await benchStarts(bench, SERVERS);
    }
    for (const spec of perServer ? SERVERS : []) {
      console.error(`${now}: ${spec.label}`);
      if (load.echo || load.health || load.websocket) {
        await benchLoad(bench, spec, load);
      }
      if (parts.has("idle")) await benchIdle(bench, spec);
      if (parts.has("tls")) await benchTls(bench, spec);
      if (parts.has("udp")) await benchUdp(bench, spec);
    }
    if (parts.has("churn")) {
      console.error(`${now}: churn, info and warning`);
      await benchChurn(bench, round);
    }
  }
  const table = await writeReports({
    command: ["deno run", PERMISSIONS, "bench/run.ts", ...args].join(" "),
    date,
    seconds: (performance.now() - started) / 1000,
    settings,
    clients: bench.clients,
    fileLimit: bench.fileLimit,
    machine,
  }, bench.results);
  console.log(table);
  return bench.results.failures.length > 0 ? 1 : 0;
}

Deno.addSignalListener("SIGINT", () => {
  killAll();
  Deno.exit(130);
});
let exitCode = 1;
try {
  exitCode = await main(Deno.args);
} finally {
  killAll();
}
Deno.exit(exitCode);
