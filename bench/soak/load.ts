/**
 * The load: every kind of client at once, each in workers that run it again
 * and again, and a health check every {@linkcode HEALTH_INTERVAL_MS}, until
 * the time is up or the service exits.
 *
 * @module
 */
import {
  echoClient,
  garbageClient,
  healthCheck,
  idleClient,
  nonReader,
  resetClient,
} from "./clients.ts";
import { type Endpoint, sleep } from "./net.ts";
import type { Random } from "./random.ts";
import {
  ERROR_PAUSE_MS,
  FULL_DUPLEX,
  HALF_CLOSE,
  HEALTH_INTERVAL_MS,
  WORKERS,
} from "./settings.ts";
import type { Errors, Stats } from "./stats.ts";

/** The service's two ports, each counting the connections made to it. */
export interface Endpoints {
  echo: Endpoint;
  http: Endpoint;
}

/**
 * Drives the whole mix at the service for `ms` milliseconds, or until
 * `exited` settles, and waits for every client to finish.
 */
export async function runLoad(
  { echo, http }: Endpoints,
  exited: Promise<unknown>,
  random: Random,
  stats: Stats,
  ms: number,
): Promise<void> {
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(), ms);
  exited.then(() => stop.abort());
  const { wellBehavedErrors, idleErrors, otherErrors } = stats;
  const mix: [number, Errors, (random: Random) => Promise<void>][] = [
    [
      WORKERS.fullDuplex,
      wellBehavedErrors,
      (r) => echoClient(echo, r, stats, FULL_DUPLEX),
    ],
    [
      WORKERS.halfClose,
      wellBehavedErrors,
      (r) => echoClient(echo, r, stats, HALF_CLOSE),
    ],
    [WORKERS.reset, otherErrors, (r) => resetClient(echo, r, stats)],
    [WORKERS.idle, idleErrors, () => idleClient(echo, stats)],
    [WORKERS.nonReader, otherErrors, (r) => nonReader(echo, r, stats)],
    [WORKERS.garbage, otherErrors, (r) => garbageClient(http, r, stats)],
  ];
  const workers = mix.flatMap(([count, errors, client]) =>
    Array.from({ length: count }, () => {
      const own = random.fork();
      return worker(stop.signal, errors, () => client(own));
    })
  );
  await Promise.all([...workers, healthChecker(stop.signal, http, stats)]);
  clearTimeout(timer);
}

/** Runs `client` again and again until `stop` aborts; errors go to `errors`. */
async function worker(
  stop: AbortSignal,
  errors: Errors,
  client: () => Promise<void>,
): Promise<void> {
  while (!stop.aborted) {
    try {
      await client();
    } catch (error) {
      errors.add(error);
      await sleep(ERROR_PAUSE_MS);
    }
  }
}

/** Checks health every {@linkcode HEALTH_INTERVAL_MS} until `stop` aborts. */
async function healthChecker(
  stop: AbortSignal,
  http: Endpoint,
  stats: Stats,
): Promise<void> {
  while (!stop.aborted) {
    const start = performance.now();
    try {
      await healthCheck(http);
      stats.healthOk++;
    } catch (error) {
      stats.healthErrors.add(error);
    }
    const tookMs = performance.now() - start;
    stats.healthSlowestMs = Math.max(stats.healthSlowestMs, tookMs);
    await sleep(Math.max(0, HEALTH_INTERVAL_MS - tookMs));
  }
}
