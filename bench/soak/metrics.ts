/**
 * The service's own accounting: `GET /metrics` scraped and read into the
 * figures the soak checks, and scraped again until it has caught up.
 *
 * @module
 */
import { parseMetrics } from "../../tests/_metrics_text.ts";
import { get } from "./http.ts";
import { type Endpoint, sleep } from "./net.ts";
import { errorMessage } from "./stats.ts";

const SCRAPE_LIMIT_MS = 5_000;
/** How long the accounting may take to catch up once the load is over. */
const SETTLE_LIMIT_MS = 10_000;
const SETTLE_POLL_MS = 100;

/** What one scrape of `GET /metrics` says, in the names the soak uses. */
export interface ServiceFigures {
  /** `echoserver_echo_connections_open` */
  open: number;
  /** `echoserver_echo_connections_accepted_total` */
  accepted: number;
  /** `echoserver_echo_connections_rejected_total` */
  rejected: number;
  /** `echoserver_echo_connections_ended_total`, by reason. */
  ended: Map<string, number>;
  /** The sum of {@linkcode ended}. */
  endedTotal: number;
  /** `echoserver_echo_accept_errors_total`, by code. */
  acceptErrors: Map<string, number>;
  /** The sum of {@linkcode acceptErrors}. */
  acceptErrorsTotal: number;
  /** `echoserver_echo_bytes_total` */
  bytes: number;
  /** `echoserver_echo_connection_duration_seconds_count` */
  durations: number;
  /** `echoserver_http_requests_total`, keyed `route status`. */
  httpRequests: Map<string, number>;
  /** `process_resident_memory_bytes` */
  rss: number;
  /** `deno_heap_used_bytes` */
  heapUsed: number;
  /** `deno_heap_total_bytes` */
  heapTotal: number;
}

/** One scrape, and how many came before it. */
export interface Scrape {
  figures: ServiceFigures;
  /** Scrapes tried before this one. */
  earlierTries: number;
  /** Scrapes before this one that got their reply. */
  earlierReplies: number;
}

/** Scrapes `GET /metrics`, counting its tries and replies. */
export class Scraper {
  tries = 0;
  replies = 0;

  constructor(readonly http: Endpoint) {}

  async scrape(): Promise<Scrape> {
    const earlier = { earlierTries: this.tries, earlierReplies: this.replies };
    this.tries++;
    const text = await get(this.http, "/metrics", SCRAPE_LIMIT_MS);
    this.replies++;
    return { figures: readFigures(parseMetrics(text)), ...earlier };
  }
}

/** The last scrape of {@linkcode settledMetrics}, or why there is none. */
export interface Settled {
  scrape?: Scrape;
  /** The last scrape's error, if it failed. */
  error?: string;
  /** Whether `caughtUp` held for the last scrape. */
  caughtUp: boolean;
  /** How long from the first scrape to the last one. */
  waitedMs: number;
}

/**
 * Scrapes every {@linkcode SETTLE_POLL_MS} until `caughtUp` holds for a
 * scrape, or for at most {@linkcode SETTLE_LIMIT_MS}: connections still
 * closing when the load ends take a moment to be counted. The last scrape.
 */
export async function settledMetrics(
  scraper: Scraper,
  caughtUp: (figures: ServiceFigures) => boolean,
): Promise<Settled> {
  const start = performance.now();
  for (;;) {
    let settled: Settled;
    try {
      const scrape = await scraper.scrape();
      settled = { scrape, caughtUp: caughtUp(scrape.figures), waitedMs: 0 };
    } catch (error) {
      settled = { error: errorMessage(error), caughtUp: false, waitedMs: 0 };
    }
    settled.waitedMs = performance.now() - start;
    if (settled.caughtUp || settled.waitedMs >= SETTLE_LIMIT_MS) return settled;
    await sleep(SETTLE_POLL_MS);
  }
}

function readFigures(samples: Map<string, number>): ServiceFigures {
  const one = (name: string) => samples.get(name) ?? NaN;
  const ended = byLabel(samples, "echoserver_echo_connections_ended_total", [
    "reason",
  ]);
  const acceptErrors = byLabel(samples, "echoserver_echo_accept_errors_total", [
    "code",
  ]);
  return {
    open: one("echoserver_echo_connections_open"),
    accepted: one("echoserver_echo_connections_accepted_total"),
    rejected: one("echoserver_echo_connections_rejected_total"),
    ended,
    endedTotal: sum(ended),
    acceptErrors,
    acceptErrorsTotal: sum(acceptErrors),
    bytes: one("echoserver_echo_bytes_total"),
    durations: one("echoserver_echo_connection_duration_seconds_count"),
    httpRequests: byLabel(samples, "echoserver_http_requests_total", [
      "route",
      "status",
    ]),
    rss: one("process_resident_memory_bytes"),
    heapUsed: one("deno_heap_used_bytes"),
    heapTotal: one("deno_heap_total_bytes"),
  };
}

/**
 * The samples of one metric keyed by the values of `labels`, joined by
 * spaces: with labels `route` and `status`, `{status="200",route="/x"}` is
 * `/x 200`.
 */
function byLabel(
  samples: Map<string, number>,
  name: string,
  labels: string[],
): Map<string, number> {
  const values = new Map<string, number>();
  for (const [key, value] of samples) {
    if (!key.startsWith(`${name}{`)) continue;
    const pairs = key.slice(name.length).matchAll(
      /(\w+)="((?:[^"\\]|\\.)*)"/g,
    );
    const found = new Map([...pairs].map(([, label, v]) => [label, v]));
    values.set(labels.map((label) => found.get(label)).join(" "), value);
  }
  return values;
}

function sum(values: Map<string, number>): number {
  let total = 0;
  for (const value of values.values()) total += value;
  return total;
}
