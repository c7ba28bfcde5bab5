/**
 * What /proc says about the service: its open descriptors and memory, read
 * with bench/processes.ts.
 *
 * @module
 */
import { openFds, statusKiB } from "../processes.ts";
import { sleep } from "./net.ts";
import { KiB } from "./settings.ts";

const SETTLE_LIMIT_MS = 5_000;
const SETTLE_POLL_MS = 250;
/** Descriptor counts this many polls in a row the same have settled. */
const SETTLE_STEADY_POLLS = 4;

/** A process's open descriptors and memory. */
export interface ProcessSample {
  fds: number;
  /** Resident memory, in bytes. */
  rss: number;
  /** The most resident memory so far, in bytes. */
  peakRss: number;
}

/**
 * The process's memory and open descriptors; with a `baseline`, the
 * descriptor count once it has settled: polled until it is back to
 * `baseline` or steady, for at most {@linkcode SETTLE_LIMIT_MS}.
 */
export async function sampleProcess(
  pid: number,
  baseline?: number,
): Promise<ProcessSample> {
  const fds = baseline === undefined
    ? await countFds(pid)
    : await settledFdCount(pid, baseline);
  return {
    fds,
    rss: KiB * await statusKiB(pid, "VmRSS"),
    peakRss: KiB * await statusKiB(pid, "VmHWM"),
  };
}

async function countFds(pid: number): Promise<number> {
  const fds = await openFds(pid);
  if (fds === undefined) throw new Error(`process ${pid} is gone`);
  return fds;
}

async function settledFdCount(pid: number, baseline: number): Promise<number> {
  const counts = [await countFds(pid)];
  const giveUpAt = performance.now() + SETTLE_LIMIT_MS;
  while (
    counts.at(-1)! > baseline && performance.now() < giveUpAt &&
    !isSteady(counts)
  ) {
    await sleep(SETTLE_POLL_MS);
    counts.push(await countFds(pid));
  }
  return counts.at(-1)!;
}

function isSteady(counts: number[]): boolean {
  const last = counts.slice(-SETTLE_STEADY_POLLS);
  return last.length === SETTLE_STEADY_POLLS &&
    last.every((count) => count === last[0]);
}
