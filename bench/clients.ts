/**
 * The load clients, each its own process: loadgen.c compiled with `cc -O2`
 * (or, with no C compiler, loadgen_deno.ts), and wrk for the health check
 * when it is installed. Each run reports the client's share of one core.
 *
 * @module
 */
import { withinTimeLimit } from "../tests/_time_limit.ts";
import {
  cpuShare,
  exited,
  killed,
  onCore,
  readText,
  ROOT,
  spawn,
} from "./processes.ts";
import { BUSY_CONNECTIONS, type Settings } from "./settings.ts";

/** The load programs chosen for this run. */
export interface LoadClients {
  /** The load client's command line, before its mode and arguments. */
  loadgen: string[];
  /** What the load client is, for the report. */
  loadgenName: string;
  /** If wrk runs the health check: its command line without the URL. */
  wrk?: { argv: string[]; runMs: number };
  /** What runs the health check, for the report. */
  healthName: string;
}

/** What one load run measured. */
export interface LoadRun<T> {
  result: T;
  /**
   * The client's CPU use as a share of one core, sampled once, near the end
   * of its run; undefined if it had already exited.
   */
  cpu?: number;
}

/** loadgen's `pingpong` output. */
export interface PingPongResult {
  messages: number;
  seconds: number;
  p50_us: number;
  p99_us: number;
}

/** loadgen's `stream` output: verified echoed bytes. */
export interface StreamResult {
  bytes: number;
  seconds: number;
}

/** `openssl s_time`'s count of full handshakes. */
export interface HandshakeResult {
  handshakes: number;
  seconds: number;
}

/** The health check's outcome, from wrk or from loadgen's `http` mode. */
export interface HttpResult {
  requestsPerSecond: number;
  /** Every request of the run, warm-up included, when the client counts it. */
  requests?: number;
}

/** Connections held open by the idle client. */
export interface IdleHold {
  /** How many connections echoed their byte. */
  echoed: number;
  /** Closes the connections and waits for the client to exit. */
  release(): Promise<void>;
}

const BUILD_DIR = `${ROOT}bench/.build`;
const GRACE_MS = 15_000;

/**
 * Compiles loadgen.c into bench/.build/ and looks for wrk, which can only
 * run whole seconds. Falls back to loadgen_deno.ts when there is no `cc`, or
 * when `useDeno` asks for it, and to loadgen's http mode without wrk.
 */
export async function prepareClients(
  settings: Settings,
  useDeno: boolean,
): Promise<LoadClients> {
  const compiled = useDeno ? undefined : await compileLoadgen();
  const loadgen = compiled
    ? [compiled]
    : [Deno.execPath(), "run", "--allow-net", "bench/loadgen_deno.ts"];
  const loadgenName = compiled
    ? "loadgen.c (cc -O2, epoll)"
    : `loadgen_deno.ts (${useDeno ? "asked for" : "no C compiler"})`;
  if (!settings.allowWrk || !await installed("wrk")) {
    return { loadgen, loadgenName, healthName: `${loadgenName} http mode` };
  }
  const totalMs = settings.warmupMs + settings.durationMs;
  const seconds = Math.max(1, Math.round(totalMs / 1000));
  const argv = ["wrk", "-t1", `-c${BUSY_CONNECTIONS}`, `-d${seconds}s`];
  const wrk = { argv, runMs: seconds * 1000 };
  return { loadgen, loadgenName, wrk, healthName: argv.join(" ") };
}

/**
 * Runs loadgen in a mode that prints one JSON line (see loadgen.c), expected
 * to take `runMs`.
 */
export async function runLoadgen<T>(
  clients: LoadClients,
  args: (string | number)[],
  runMs: number,
): Promise<LoadRun<T>> {
  const { stdout, cpu } = await runClient(
    [...clients.loadgen, ...args.map(String)],
    runMs,
    `loadgen ${args[0]}`,
  );
  return { result: JSON.parse(stdout), cpu };
}

/**
 * The health check with {@linkcode BUSY_CONNECTIONS} keep-alive clients:
 * wrk when prepared (counting its whole run), else loadgen's http mode.
 * Throws on any error the client reports.
 */
export async function runHealth(
  clients: LoadClients,
  port: number,
  warmupMs: number,
  durationMs: number,
): Promise<LoadRun<HttpResult>> {
  if (!clients.wrk) {
    const { result, cpu } = await runLoadgen<
      { requests: number; seconds: number }
    >(
      clients,
      ["http", port, BUSY_CONNECTIONS, warmupMs, durationMs],
      warmupMs + durationMs,
    );
    return {
      result: { requestsPerSecond: result.requests / result.seconds },
      cpu,
    };
  }
  const url = `http://127.0.0.1:${port}/healthcheck`;
  const { stdout, cpu } = await runClient(
    [...clients.wrk.argv, "--timeout", "5s", url],
    clients.wrk.runMs,
    "wrk",
  );
  const rate = stdout.match(/^Requests\/sec:\s+([\d.]+)$/m);
  const requests = stdout.match(/^\s*(\d+) requests in /m);
  const errors = stdout.match(/^\s*(Non-2xx.*|Socket errors.*)$/m);
  if (!rate || errors) {
    throw new Error(`wrk: ${errors?.[1] ?? `no Requests/sec in ${stdout}`}`);
  }
  return {
    result: {
      requestsPerSecond: Number(rate[1]),
      requests: requests ? Number(requests[1]) : undefined,
    },
    cpu,
  };
}

/**
 * loadgen_deno.ts's websocket mode, a ping-pong over WebSockets on the HTTP
 * port: the C client speaks no WebSocket.
 */
export async function runWebSocketPingPong(
  args: (string | number)[],
  runMs: number,
): Promise<LoadRun<PingPongResult>> {
  const { stdout, cpu } = await runClient(
    [
      ...[Deno.execPath(), "run", "--allow-net", "bench/loadgen_deno.ts"],
      ...["websocket", ...args.map(String)],
    ],
    runMs,
    "loadgen websocket",
  );
  return { result: JSON.parse(stdout), cpu };
}

/**
 * loadgen_deno.ts's stream mode over TLS, trusting the certificate in
 * `caFile`: the C client speaks no TLS.
 */
export async function runTlsStream(
  caFile: string,
  args: (string | number)[],
  runMs: number,
): Promise<LoadRun<StreamResult>> {
  const loadgen = [
    ...[Deno.execPath(), "run", "--allow-net", `--allow-read=${caFile}`],
    ...["bench/loadgen_deno.ts", "--tls", caFile],
  ];
  const { stdout, cpu } = await runClient(
    [...loadgen, "stream", ...args.map(String)],
    runMs,
    "loadgen TLS stream",
  );
  return { result: JSON.parse(stdout), cpu };
}

/**
 * Full TLS handshakes, one after another, for whole `seconds`: `openssl
 * s_time -new`, which costs the client far less than a Deno client would.
 */
export async function runTlsHandshakes(
  port: number,
  seconds: number,
): Promise<LoadRun<HandshakeResult>> {
  const { stdout, cpu } = await runClient(
    [
      ...["openssl", "s_time", "-connect", `127.0.0.1:${port}`],
      ...["-new", "-time", String(seconds)],
    ],
    seconds * 1000,
    "openssl s_time",
  );
  const counted = stdout.match(/^(\d+) connections in (\d+) real seconds/m);
  if (!counted || Number(counted[1]) === 0) {
    throw new Error(`openssl s_time: no handshake counted in ${stdout}`);
  }
  return {
    result: { handshakes: Number(counted[1]), seconds: Number(counted[2]) },
    cpu,
  };
}

/** How {@linkcode holdIdle} opens its connections. */
export interface IdleOptions {
  /** The descriptor limit the client runs with, under `prlimit`. */
  fileLimit: number;
  /** How long it may take to open and echo them all. */
  timeoutMs: number;
  /**
   * Bytes each connection echoes before it goes idle.
   * @default {1}
   */
  bytes?: number;
}

/**
 * Starts loadgen's idle mode under `prlimit` with descriptor limit
 * `fileLimit`, and waits until every connection has echoed or failed.
 */
export async function holdIdle(
  clients: LoadClients,
  port: number,
  conns: number,
  options: IdleOptions,
): Promise<IdleHold> {
  const { fileLimit, timeoutMs, bytes = 1 } = options;
  const limit = `--nofile=${fileLimit}:${fileLimit}`;
  const child = spawn(
    onCore("client", [
      ...["prlimit", limit, ...clients.loadgen],
      ...[
        "idle",
        String(port),
        String(conns),
        String(timeoutMs),
        String(bytes),
      ],
    ]),
    "piped",
  );
  const stderr = readText(child.stderr);
  const stdout = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  try {
    const line = await withinTimeLimit(
      firstLine(stdout),
      timeoutMs + GRACE_MS,
      "idle",
    );
    const { echoed } = JSON.parse(line);
    await stdout.cancel();
    const release = async () => {
      await child.stdin.close();
      const status = await exited(child, GRACE_MS, "idle client exit");
      if (!status.success) throw new Error(`idle client: ${await stderr}`);
    };
    return { echoed, release };
  } catch (error) {
    await killed(child);
    throw new Error(`idle client: ${error}; ${await stderr}`);
  }
}

async function firstLine(
  reader: ReadableStreamDefaultReader<string>,
): Promise<string> {
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
  }
  return text;
}

/**
 * Runs a load client on the clients' core, expected to take `runMs`,
 * sampling its CPU use at 90% of that; it must exit 0 within `runMs` plus a
 * grace period.
 */
async function runClient(
  argv: string[],
  runMs: number,
  what: string,
): Promise<{ stdout: string; cpu?: number }> {
  const started = performance.now();
  const child = spawn(onCore("client", argv));
  const [stdout, stderr] = [readText(child.stdout), readText(child.stderr)];
  let cpu: Promise<number | undefined> = Promise.resolve(undefined);
  const sampler = setTimeout(() => {
    cpu = cpuShare(child.pid, started);
  }, runMs * 0.9);
  let status: Deno.CommandStatus;
  try {
    status = await exited(child, runMs + GRACE_MS, what);
  } finally {
    clearTimeout(sampler);
  }
  if (!status.success) throw new Error(`${what}: ${(await stderr).trim()}`);
  return { stdout: await stdout, cpu: await cpu };
}

async function compileLoadgen(): Promise<string | undefined> {
  await Deno.mkdir(BUILD_DIR, { recursive: true });
  const output = `${BUILD_DIR}/loadgen`;
  let compiled: Deno.CommandOutput;
  try {
    compiled = await new Deno.Command("cc", {
      args: ["-O2", "-Wall", "-o", output, `${ROOT}bench/loadgen.c`],
    }).output();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  if (!compiled.success) {
    throw new Error(`cc: ${new TextDecoder().decode(compiled.stderr)}`);
  }
  return output;
}

async function installed(program: string): Promise<boolean> {
  try {
    await new Deno.Command(program, {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    }).output();
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}
