/**
 * Benchmarks the echoserver service against a bare Deno server and a Node
 * server on this machine, in alternating rounds, and writes the medians and
 * ratios to a Markdown table (stdout and RESULTS.md) and results.json.
 *
 * ```sh
 * deno run --allow-run --allow-net --allow-read --allow-write --allow-env --allow-sys bench/run.ts [--tiny] [--deno-client] [--churn]
 * ```
 *
 * `--tiny` is a smoke run of a few seconds that writes into bench/.build/;
 * `--deno-client` uses loadgen_deno.ts even when a C compiler is there;
 * `--churn` runs only the churn pairs (info against warning), in a minute,
 * and writes into bench/.build/.
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
} from "./scenarios.ts";
import { SERVERS } from "./servers.ts";
import { FULL, IDLE_FILE_LIMIT, TINY } from "./settings.ts";

const FLAGS = ["--tiny", "--deno-client", "--churn"];
const PERMISSIONS = "--allow-run --allow-net --allow-read --allow-write " +
  "--allow-env --allow-sys";

async function main(args: string[]): Promise<number> {
  const unknown = args.filter((arg) => !FLAGS.includes(arg));
  if (unknown.length > 0) {
    console.error(`bench: unknown flag ${unknown[0]}; flags: ${FLAGS}`);
    return 2;
  }
  const churnOnly = args.includes("--churn");
  // A partial run leaves the committed results alone.
  const settings = {
    ...(args.includes("--tiny") ? TINY : FULL),
    ...(churnOnly ? { outputDir: TINY.outputDir } : {}),
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
  for (let round = 1; round <= settings.rounds; round++) {
    if (!churnOnly) {
      console.error(`round ${round}/${settings.rounds}: starts`);
      await benchStarts(bench, SERVERS);
    }
    for (const spec of churnOnly ? [] : SERVERS) {
      console.error(`round ${round}/${settings.rounds}: ${spec.label}`);
      await benchLoad(bench, spec);
      await benchIdle(bench, spec);
      await benchTls(bench, spec);
    }
    console.error(`round ${round}/${settings.rounds}: churn, info and warning`);
    await benchChurn(bench, round);
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
