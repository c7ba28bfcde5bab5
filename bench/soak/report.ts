/**
 * The soak's verdict and report: what failed, and every figure.
 *
 * @module
 */
import type { Accounting } from "./accounting.ts";
import type { ServiceFigures } from "./metrics.ts";
import type { ProcessSample } from "./process_sample.ts";
import type { ServerLog } from "./server_log.ts";
import { MiB } from "./settings.ts";
import type { Stats, Tally } from "./stats.ts";

/** More descriptors than this over the count before the load is a leak. */
const FD_SLACK = 5;

/** Everything the report shows. */
export interface Outcome {
  seed: number;
  loadSeconds: number;
  stats: Stats;
  before: ProcessSample;
  /** Null if the server had exited by the end of the load. */
  after: ProcessSample | null;
  /** Null if the server had exited by the end of the load. */
  accounting: Accounting | null;
  dieStatus: number | null;
  exitCode: number | null;
  log: ServerLog;
}

/** Why the soak failed; empty if it passed. */
export function failures(outcome: Outcome): string[] {
  const { stats, before, after, accounting, dieStatus, exitCode } = outcome;
  const reasons: string[] = [];
  const errors = stats.wellBehavedErrors.count;
  if (errors > 0) reasons.push(`${errors} well-behaved client errors`);
  if (stats.healthErrors.count > 0) {
    reasons.push(`${stats.healthErrors.count} failed health checks`);
  }
  if (stats.idleErrors.count > 0) {
    reasons.push(`${stats.idleErrors.count} idle clients not timed out`);
  }
  if (after !== null && after.fds > before.fds + FD_SLACK) {
    reasons.push(`descriptors ${before.fds} before, ${after.fds} after`);
  }
  if (accounting?.settled.error !== undefined) {
    reasons.push(`no metrics: ${accounting.settled.error}`);
  }
  for (const check of accounting?.checks ?? []) {
    if (!check.holds) reasons.push(`${check.name} (${check.figures})`);
  }
  if (dieStatus !== 200) reasons.push(`POST /die answered ${dieStatus}`);
  if (exitCode !== 0) reasons.push(`the server exited with ${exitCode}`);
  return reasons;
}

/** The report, one line each, ending with PASS or FAIL and the reasons. */
export function report(outcome: Outcome): string[] {
  const { stats, before, after, log } = outcome;
  const { wellBehavedErrors, idleErrors, otherErrors, healthErrors } = stats;
  const failed = failures(outcome);
  return [
    `soak: seed ${outcome.seed}, ${outcome.loadSeconds.toFixed(1)} s of load`,
    row("connections served", `${stats.served} well-behaved`),
    row("bytes echoed", `${mib(stats.bytesVerified)}, all verified`),
    row("well-behaved errors", wellBehavedErrors.count),
    ...indented(wellBehavedErrors.samples),
    row("half-closes", stats.halfCloses),
    row("resets", stats.resets),
    row("idle timeouts", `${stats.idleTimeouts}, ${idleErrors.count} missed`),
    ...indented(idleErrors.samples),
    row("non-readers", stats.nonReaders),
    row("garbage requests", stats.garbage.total()),
    ...indented(stats.garbage.entries().map(([k, n]) => `${n} x ${k}`)),
    row("other client errors", otherErrors.count),
    ...indented(otherErrors.samples),
    row("health checks ok", stats.healthOk),
    row("health checks failed", healthErrors.count),
    ...indented(healthErrors.samples),
    row("slowest health check", `${Math.round(stats.healthSlowestMs)} ms`),
    row(
      "server descriptors",
      `${before.fds} before, ${after?.fds ?? "-"} after`,
    ),
    row("server RSS", `${mib(before.rss)} before, ${mib(after?.rss)} after`),
    row("server peak RSS", mib(after?.peakRss)),
    ...accountingReport(outcome.accounting, stats),
    row("POST /die", outcome.dieStatus ?? "no reply"),
    row("server exit code", outcome.exitCode ?? "none, killed"),
    row("server log lines", formatTally(log.levels)),
    ...indented([
      `connection ended: ${log.ends.total()}: ${formatTally(log.ends)}`,
    ]),
    ...indented(log.messages.entries().map(([m, n]) => `${n} x ${m}`)),
    ...indented(log.strayLines.map((line) => `not a log line: ${line}`)),
    failed.length === 0 ? "PASS" : `FAIL: ${failed.join("; ")}`,
  ];
}

/** The service's metrics at the end of the load, and the checks on them. */
function accountingReport(
  accounting: Accounting | null,
  stats: Stats,
): string[] {
  if (accounting === null) return [row("server metrics", "-, it had exited")];
  const { echoConnections, settled, checks } = accounting;
  const waited = `${Math.round(settled.waitedMs)} ms`;
  if (settled.scrape === undefined) {
    return [row("server metrics", `none after ${waited}: ${settled.error}`)];
  }
  const m: ServiceFigures = settled.scrape.figures;
  const scrapes = settled.scrape.earlierTries + 1;
  const passed = checks.filter((check) => check.holds).length;
  return [
    row(
      "server metrics",
      `${settled.caughtUp ? "settled" : "not settled"} in ${waited}, ` +
        `${scrapes} scrapes`,
    ),
    ...indented([
      `echo connections: ${m.accepted} accepted (${echoConnections} made), ` +
      `${m.rejected} rejected, ${m.open} open`,
      `ended: ${m.endedTotal}: ${formatMap(m.ended)}`,
      `accept errors: ${m.acceptErrorsTotal}${
        m.acceptErrors.size === 0 ? "" : `: ${formatMap(m.acceptErrors)}`
      }`,
      `bytes echoed: ${mib(m.bytes)} (${m.bytes}; ${stats.bytesVerified} ` +
      `verified, ${stats.bytesOffered} offered)`,
      `durations observed: ${m.durations}`,
      `http requests: ${formatMap(m.httpRequests)}`,
      `resident memory: ${mib(m.rss)}, V8 heap ${mib(m.heapUsed)} used ` +
      `of ${mib(m.heapTotal)}`,
    ]),
    row("accounting checks", `${passed} of ${checks.length} hold`),
    ...indented(
      checks.map((check) =>
        `${check.holds ? "ok  " : "FAIL"} ${check.name}: ${check.figures}`
      ),
    ),
  ];
}

function row(label: string, value: string | number): string {
  return `  ${label.padEnd(22)}${value}`;
}

/** Bytes in MiB; "-" for a sample not taken because the server had exited. */
function mib(bytes: number | undefined): string {
  return bytes === undefined ? "-" : `${(bytes / MiB).toFixed(1)} MiB`;
}

function indented(lines: string[]): string[] {
  return lines.map((line) => `      ${line}`);
}

function formatTally(tally: Tally): string {
  const entries = tally.entries();
  if (entries.length === 0) return "none";
  return entries.map(([key, count]) => `${count} ${key}`).join(", ");
}

function formatMap(values: Map<string, number>): string {
  if (values.size === 0) return "none";
  return [...values].map(([key, count]) => `${count} ${key}`).join(", ");
}
