/**
 * Child processes of the benchmark: spawning them so that none outlives the
 * harness, bounded waits, and what /proc says about them.
 *
 * @module
 */

import { withinTimeLimit } from "../tests/_time_limit.ts";

/** The project root; every child runs there, so deno.json applies. */
export const ROOT = new URL("..", import.meta.url).pathname;

const live = new Set<Deno.ChildProcess>();

/**
 * Spawns `argv` in the project root with piped output, with no
 * `ECHOSERVER__` variable from this environment (so the service runs on its
 * defaults), tracked until it exits so that {@linkcode killAll} can stop it.
 */
export function spawn(
  argv: string[],
  stdin: "piped" | "null" = "null",
): Deno.ChildProcess {
  const env = Object.fromEntries(
    Object.entries(Deno.env.toObject()).filter(([name]) =>
      !name.startsWith("ECHOSERVER__")
    ),
  );
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    cwd: ROOT,
    clearEnv: true,
    env: { ...env, NO_COLOR: "1" },
    stdin,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  live.add(child);
  child.status.then(() => live.delete(child));
  return child;
}

/** The two sides of a benchmark: the server under test, and its clients. */
export type Side = "server" | "client";

/**
 * The cores each side is pinned to with `taskset`: the server to core 0 and
 * its clients to core 1, so that the two never take turns on one core, which
 * swings every ratio. Undefined, and nothing pinned, on a single core or
 * without `taskset`.
 */
export const PINNED_CORES: Record<Side, number> | undefined =
  await pinnedCores();

/** `argv` run on its side's core, when sides are pinned. */
export function onCore(side: Side, argv: string[]): string[] {
  if (PINNED_CORES === undefined) return argv;
  return ["taskset", "--cpu-list", String(PINNED_CORES[side]), ...argv];
}

async function pinnedCores(): Promise<Record<Side, number> | undefined> {
  if (navigator.hardwareConcurrency < 2) return undefined;
  try {
    const { success } = await new Deno.Command("taskset", {
      args: ["--cpu-list", "1", "true"],
      stdout: "null",
      stderr: "null",
    }).output();
    return success ? { server: 0, client: 1 } : undefined;
  } catch {
    return undefined; // no taskset
  }
}

/** Kills every child still running; for the harness's last moments. */
export function killAll(): void {
  for (const child of live) kill(child);
}

/** Kills `child` and waits for it to be gone, if it is still running. */
export async function killed(child: Deno.ChildProcess): Promise<void> {
  kill(child);
  await child.status;
}

/** Kills `child` without waiting, if it is still running. */
export function kill(child: Deno.ChildProcess): void {
  try {
    child.kill("SIGKILL");
  } catch {
    // It exited meanwhile.
  }
}

/**
 * Waits for `child` to exit within `ms`; kills it otherwise and throws.
 * Resolves with its exit status.
 */
export async function exited(
  child: Deno.ChildProcess,
  ms: number,
  what: string,
): Promise<Deno.CommandStatus> {
  try {
    return await withinTimeLimit(child.status, ms, what);
  } catch (error) {
    await killed(child);
    throw error;
  }
}

/** All of a stream as text, keeping at most the last `limit` characters. */
export async function readText(
  stream: ReadableStream<Uint8Array>,
  limit = 16_384,
): Promise<string> {
  let text = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    text = (text + chunk).slice(-limit);
  }
  return text;
}

// Deno 2.9 lets a program read /proc only with --allow-all, so these run
// `cat` (allowed by --allow-run) instead.

/** A file under /proc, read by `cat`; undefined if it is gone. */
export async function readProc(path: string): Promise<string | undefined> {
  const { success, stdout } = await new Deno.Command("cat", {
    args: [`/proc/${path}`],
    stderr: "null",
  }).output();
  return success ? new TextDecoder().decode(stdout) : undefined;
}

/** The resident memory of a running process, in KiB, from its VmRSS. */
export async function rssKiB(pid: number): Promise<number> {
  const match = (await readProc(`${pid}/status`))?.match(
    /^VmRSS:\s+(\d+) kB$/m,
  );
  if (!match) throw new Error(`no VmRSS for process ${pid}`);
  return Number(match[1]);
}

/**
 * A figure of /proc/PID/status given in kB, such as `VmRSS` (resident
 * memory) or `VmHWM` (its peak so far), in KiB.
 */
export async function statusKiB(pid: number, field: string): Promise<number> {
  const match = (await readProc(`${pid}/status`))?.match(
    new RegExp(`^${field}:\\s+(\\d+) kB$`, "m"),
  );
  if (!match) throw new Error(`no ${field} for process ${pid}`);
  return Number(match[1]);
}

/**
 * How many descriptors a running process has open: the entries of
 * /proc/PID/fd, listed by `ls` (a directory, which `cat` cannot read).
 * Undefined if it is gone.
 */
export async function openFds(pid: number): Promise<number | undefined> {
  const { success, stdout } = await new Deno.Command("ls", {
    args: ["-1", `/proc/${pid}/fd`],
    stderr: "null",
  }).output();
  if (!success) return undefined;
  return new TextDecoder().decode(stdout).split("\n")
    .filter((line) => line !== "").length;
}

const CLOCK_TICKS = Number(await output("getconf", "CLK_TCK")) || 100;

/**
 * The share of one core a process has used since `started` (its spawn, a
 * `performance.now()` time): its user + system time from /proc/PID/stat
 * over the time elapsed. Undefined once the process is gone.
 */
export async function cpuShare(
  pid: number,
  started: number,
): Promise<number | undefined> {
  const elapsed = (performance.now() - started) / 1000;
  const seconds = await cpuSeconds(pid);
  return seconds === undefined ? undefined : seconds / elapsed;
}

/**
 * The user + system CPU seconds a process has used, from /proc/PID/stat;
 * undefined once it is gone.
 */
export async function cpuSeconds(pid: number): Promise<number | undefined> {
  const stat = await readProc(`${pid}/stat`);
  if (stat === undefined) return undefined;
  // Fields after "(comm)": state is the first, utime the 12th, stime the 13th.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/**
 * The descriptor limit `prlimit` can give children: `wanted` where this
 * process may raise its hard limit, else the hard limit it has.
 */
export async function fileLimit(wanted: number): Promise<number> {
  const { success } = await new Deno.Command("prlimit", {
    args: [`--nofile=${wanted}:${wanted}`, "true"],
    stderr: "null",
  }).output();
  return success ? wanted : Number(await output("sh", "-c", "ulimit -Hn"));
}

/** A program's standard output, trimmed. */
export async function output(program: string, ...args: string[]) {
  const { stdout } = await new Deno.Command(program, { args }).output();
  return new TextDecoder().decode(stdout).trim();
}
