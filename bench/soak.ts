/**
 * Soak test for the echoserver. Starts `main.ts` on free loopback ports with
 * short idle timeouts and, for a while, drives a mix of clients at it at once:
 * well-behaved echo clients that verify every byte, clients that reset,
 * half-close, stay idle or never read, garbage on the HTTP port, and a health
 * check every 100 ms. Then it checks that the server gave its descriptors
 * back, that its own accounting (`GET /metrics` and its `connection ended`
 * log lines) agrees with what the clients did, and that it stops cleanly with
 * `POST /die`, and prints a report.
 *
 * ```sh
 * deno run --allow-run --allow-net --allow-read --allow-env bench/soak.ts [--seconds N] [--seed N]
 * ```
 *
 * Exits 0 when every check passes, 1 when one fails, 2 for a bad flag.
 *
 * The parts, in bench/soak/: `options.ts` (the command line), `settings.ts`
 * (the mix and its limits), `service.ts` (the service process and its log,
 * read by `server_log.ts`), `clients.ts` (each kind of client, over
 * `net.ts`, `http.ts` and `echo_check.ts`), `load.ts` (the workers),
 * `process_sample.ts` (/proc), `metrics.ts` (`GET /metrics`),
 * `accounting.ts` (its invariants) and `report.ts`.
 *
 * @module
 */
import {
  type Accounting,
  accountingChecks,
  caughtUp,
} from "./soak/accounting.ts";
import { type Endpoints, runLoad } from "./soak/load.ts";
import { Scraper, settledMetrics } from "./soak/metrics.ts";
import { Endpoint } from "./soak/net.ts";
import {
  parseOptions,
  type SoakOptions,
  USAGE,
  UsageError,
} from "./soak/options.ts";
import { sampleProcess } from "./soak/process_sample.ts";
import { Random } from "./soak/random.ts";
import { failures, type Outcome, report } from "./soak/report.ts";
import { type Service, startService, stopService } from "./soak/service.ts";
import { Stats } from "./soak/stats.ts";

async function soak(service: Service, options: SoakOptions): Promise<Outcome> {
  const stats = new Stats();
  const endpoints: Endpoints = {
    echo: new Endpoint(service.ports.echo),
    http: new Endpoint(service.ports.http),
  };
  const before = await sampleProcess(service.pid);
  const start = performance.now();
  await runLoad(
    endpoints,
    service.exited,
    new Random(options.seed),
    stats,
    options.seconds * 1000,
  );
  const loadSeconds = (performance.now() - start) / 1000;
  const accounting = service.running()
    ? await checkAccounting(service, endpoints, stats)
    : null;
  const after = service.running()
    ? await sampleProcess(service.pid, before.fds)
    : null;
  const { dieStatus, exitCode } = await stopService(service);
  return {
    seed: options.seed,
    loadSeconds,
    stats,
    before,
    after,
    accounting,
    dieStatus,
    exitCode,
    log: service.log,
  };
}

/**
 * Once every client is gone: scrapes `GET /metrics` until the service has
 * counted it all, and checks its accounting against the soak's.
 */
async function checkAccounting(
  service: Service,
  endpoints: Endpoints,
  stats: Stats,
): Promise<Accounting> {
  const observed = {
    stats,
    echoConnections: endpoints.echo.connections,
    log: service.log,
  };
  const settled = await settledMetrics(
    new Scraper(endpoints.http),
    (figures) => caughtUp(figures, observed),
  );
  const checks = settled.scrape === undefined
    ? []
    : accountingChecks(settled.scrape, observed);
  return { echoConnections: observed.echoConnections, settled, checks };
}

async function main(): Promise<number> {
  let options: SoakOptions;
  try {
    options = parseOptions(Deno.args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`soak: ${error.message}\n${USAGE}`);
    return 2;
  }
  console.log(`soak: seed ${options.seed}, running ${options.seconds} s`);
  const service = await startService();
  try {
    const outcome = await soak(service, options);
    console.log(report(outcome).join("\n"));
    return failures(outcome).length === 0 ? 0 : 1;
  } finally {
    service.kill();
  }
}

if (import.meta.main) Deno.exit(await main());
