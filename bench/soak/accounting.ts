/**
 * Cross-checks the service's own accounting (its metrics and its
 * `connection ended` log lines) against what the soak did and saw.
 *
 * @module
 */
import type { Scrape, ServiceFigures, Settled } from "./metrics.ts";
import type { ServerLog } from "./server_log.ts";
import type { Stats } from "./stats.ts";

/** What the soak did and saw, and what the service logged. */
export interface Observed {
  stats: Stats;
  /** Connections the soak made to the echo port. */
  echoConnections: number;
  log: ServerLog;
}

/** The service's accounting at the end of the load, and its checks. */
export interface Accounting {
  /** Connections the soak made to the echo port. */
  echoConnections: number;
  settled: Settled;
  checks: Check[];
}

/** One invariant, whether it holds, and the figures it compared. */
export interface Check {
  name: string;
  holds: boolean;
  figures: string;
}

/**
 * Whether the service has counted everything the soak did, once every
 * client is gone: no connection open, each connection accepted, and each
 * end logged.
 */
export function caughtUp(figures: ServiceFigures, observed: Observed): boolean {
  const { open, accepted, acceptErrorsTotal, endedTotal, rejected } = figures;
  return open === 0 &&
    accepted + acceptErrorsTotal >= observed.echoConnections &&
    observed.log.ends.total() >= endedTotal + rejected;
}

/** The invariants between the service's accounting and the soak's. */
export function accountingChecks(scrape: Scrape, observed: Observed): Check[] {
  const { figures: m, earlierReplies, earlierTries } = scrape;
  const { stats, echoConnections: connected, log } = observed;
  const ended = (reason: string) => m.ended.get(reason) ?? 0;
  const requests = (route: string, status: number) =>
    m.httpRequests.get(`${route} ${status}`) ?? 0;
  const check = (name: string, holds: boolean, figures: string): Check => ({
    name,
    holds,
    figures,
  });
  const health = requests("/healthcheck", 200);
  const healthTried = stats.healthOk + stats.healthErrors.count;
  const die413 = requests("/die", 413);
  const garbage413 = stats.garbageReplies.get("/die 413");
  const scrapes = requests("/metrics", 200);
  const logged = log.ends.total();
  return [
    check("no echo connection open", m.open === 0, `open ${m.open}`),
    check(
      "accepted = rejected + open + ended",
      m.accepted === m.rejected + m.open + m.endedTotal,
      `${m.accepted} = ${m.rejected} + ${m.open} + ${m.endedTotal}`,
    ),
    check(
      "every echo connection made was accepted",
      m.accepted <= connected && connected <= m.accepted + m.acceptErrorsTotal,
      `${m.accepted} accepted, ${m.acceptErrorsTotal} accept errors, ` +
        `${connected} made`,
    ),
    check(
      "ended closed >= well-behaved clients served",
      ended("closed") >= stats.served,
      `${ended("closed")} >= ${stats.served}`,
    ),
    check(
      "ended idle >= idle clients dropped",
      ended("idle") >= stats.idleTimeouts,
      `${ended("idle")} >= ${stats.idleTimeouts}`,
    ),
    check(
      "none ended by shutdown before /die",
      ended("shutdown") === 0,
      `${ended("shutdown")}`,
    ),
    check(
      "none ended in an unexpected error",
      ended("error") === 0,
      `${ended("error")}`,
    ),
    check(
      "verified <= bytes echoed <= bytes offered",
      stats.bytesVerified <= m.bytes && m.bytes <= stats.bytesOffered,
      `${stats.bytesVerified} <= ${m.bytes} <= ${stats.bytesOffered}`,
    ),
    check(
      "a duration observed for each end",
      m.durations === m.endedTotal,
      `${m.durations} = ${m.endedTotal}`,
    ),
    check(
      "/healthcheck 200s: the health checks that passed, at least",
      stats.healthOk <= health && health <= healthTried,
      `${stats.healthOk} <= ${health} <= ${healthTried}`,
    ),
    check(
      "/die 413s >= garbage POST /die refused with 413",
      die413 >= garbage413,
      `${die413} >= ${garbage413}`,
    ),
    check(
      "/metrics 200s: the earlier scrapes",
      earlierReplies <= scrapes && scrapes <= earlierTries,
      `${earlierReplies} <= ${scrapes} <= ${earlierTries}`,
    ),
    check(
      "connection ended lines = ended + rejected",
      logged === m.endedTotal + m.rejected,
      `${logged} = ${m.endedTotal} + ${m.rejected}`,
    ),
    check(
      "connection ended lines by reason = ended by reason",
      reasonsDiffering(m, log).length === 0,
      reasonsDiffering(m, log).join(", ") || "all equal",
    ),
    check(
      "bytes in connection ended lines = bytes echoed",
      log.endedBytes === m.bytes,
      `${log.endedBytes} = ${m.bytes}`,
    ),
  ];
}

/**
 * The reasons whose count of log lines differs from the metrics (`limit`
 * for the rejected clients), as `reason: lines logged != counted`.
 */
function reasonsDiffering(m: ServiceFigures, log: ServerLog): string[] {
  const counted = new Map([...m.ended, ["limit", m.rejected]]);
  const reasons = new Set([...counted.keys(), ...log.ends.keys()]);
  return [...reasons].flatMap((reason) => {
    const lines = log.ends.get(reason);
    const count = counted.get(reason) ?? 0;
    return lines === count ? [] : [`${reason}: ${lines} logged != ${count}`];
  });
}
