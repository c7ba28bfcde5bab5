/**
 * Soak test for the echoserver. Starts `main.ts` on free loopback ports with
 * short idle timeouts and, for a while, drives a mix of clients at it at once:
 * well-behaved echo clients that verify every byte, clients that reset,
 * half-close, stay idle or never read, garbage on the HTTP port, and a health
 * check every 100 ms. Then it checks that the server gave its descriptors
 * back and stops cleanly with `POST /die`, and prints a report.
 *
 * ```sh
 * deno run --allow-run --allow-net --allow-read --allow-env bench/soak.ts [--seconds N] [--seed N]
 * ```
 *
 * Exits 0 when every check passes, 1 when one fails, 2 for a bad flag.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { kill as killChild, ROOT, within } from "./processes.ts";

const USAGE =
  "usage: deno run --allow-run --allow-net --allow-read --allow-env bench/soak.ts [--seconds N] [--seed N]";
const HOST = "127.0.0.1";
const KiB = 1024;
const MiB = 1024 * KiB;

/** The service's idle timeouts: short, so idle clients time out in a run. */
const IDLE_TIMEOUT_MS = 1_000;
const IDLE_REFRESH_MS = 2_000;

/** How many clients of each kind run at once. */
const WORKERS = {
  fullDuplex: 50,
  halfClose: 5,
  reset: 5,
  idle: 5,
  nonReader: 2,
  garbage: 1,
};

const DEFAULT_SECONDS = 60;
const MAX_SECONDS = 3_600;
/** The most time any one client connection may take before it is cut. */
const CLIENT_LIMIT_MS = 30_000;
/** After a client fails, its worker waits this long before the next one. */
const ERROR_PAUSE_MS = 100;
const CHUNKS_MAX = 16;
const CHUNK_MAX = 256 * KiB;
const PAUSE_MAX_MS = 50;
/** Half-closing clients send all before reading: small enough to buffer. */
const HALF_CLOSE_CHUNKS_MAX = 4;
const HALF_CLOSE_CHUNK_MAX = 12 * KiB;
const RESET_BYTES = { min: 4 * KiB, max: 256 * KiB };
/** How long a resetting client lets echoed data pile up unread. */
const RESET_LINGER_MS = 10;
const IDLE_LIMIT_MS = IDLE_TIMEOUT_MS + 4_000;
/**
 * An idle client closed sooner than this after it began to connect was closed
 * too early; the 10 ms spare are for the clocks' granularity.
 */
const IDLE_EARLIEST_MS = IDLE_TIMEOUT_MS - 10;
const NON_READER_BYTES = { min: 2 * MiB, max: 4 * MiB };
/** How long a non-reader stays connected, whether its writes got stuck. */
const NON_READER_HOLD_MS = 1_500;
const GARBAGE_LIMIT_MS = 3_000;
const GARBAGE_PAUSE_MS = 100;
const HEALTH_INTERVAL_MS = 100;
const HEALTH_LIMIT_MS = 2_000;
const START_LIMIT_MS = 15_000;
const STOP_LIMIT_MS = 10_000;
const SETTLE_LIMIT_MS = 5_000;
const SETTLE_POLL_MS = 250;
/** Descriptor counts this many polls in a row the same have settled. */
const SETTLE_STEADY_POLLS = 4;
/** More descriptors than this over the count before the load is a leak. */
const FD_SLACK = 5;

// ---------------------------------------------------------------- options

/** What the command line sets. */
interface SoakOptions {
  seconds: number;
  seed: number;
}

/** A bad command line. */
class UsageError extends Error {
  override name = "UsageError";
}

function parseOptions(args: string[]): SoakOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: { seconds: { type: "string" }, seed: { type: "string" } },
    }));
  } catch (error) {
    throw new UsageError(errorMessage(error));
  }
  const seconds = Number(values.seconds ?? DEFAULT_SECONDS);
  if (!(seconds > 0 && seconds <= MAX_SECONDS)) {
    throw new UsageError(`--seconds must be over 0 and at most ${MAX_SECONDS}`);
  }
  const seed = values.seed === undefined
    ? crypto.getRandomValues(new Uint32Array(1))[0]
    : Number(values.seed);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffff_ffff) {
    throw new UsageError("--seed must be an integer from 0 to 4294967295");
  }
  return { seconds, seed };
}

// ---------------------------------------------------------------- PRNG

/** A seeded pseudo-random generator (mulberry32): runs repeat in shape. */
class Random {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** The next 32 random bits. */
  uint32(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** An integer from `min` to `max`, both included. */
  int(min: number, max: number): number {
    return min + Math.floor((this.uint32() / 2 ** 32) * (max - min + 1));
  }

  /** A size from 1 to `max`, spread evenly over the powers of two. */
  size(max: number): number {
    return Math.floor(2 ** ((this.uint32() / 2 ** 32) * Math.log2(max + 1)));
  }

  /** `length` random bytes. */
  bytes(length: number): Uint8Array {
    const words = new Uint32Array(Math.ceil(length / 4));
    for (let i = 0; i < words.length; i++) words[i] = this.uint32();
    return new Uint8Array(words.buffer, 0, length);
  }

  /** One of `items`. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)];
  }

  /** A generator of its own, seeded from this one. */
  fork(): Random {
    return new Random(this.uint32());
  }
}

// ---------------------------------------------------------------- results

/** Counts errors of one kind and keeps the first few messages. */
class Errors {
  count = 0;
  readonly samples: string[] = [];

  add(error: unknown): void {
    this.count++;
    if (this.samples.length < 5) this.samples.push(errorMessage(error));
  }
}

/** Counts occurrences of strings. */
class Tally {
  readonly #counts = new Map<string, number>();

  add(key: string): void {
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
  }

  /** The keys and their counts, the most frequent first. */
  entries(): [string, number][] {
    return [...this.#counts].sort((a, b) => b[1] - a[1]);
  }
}

/** What the clients saw during the load. */
class Stats {
  served = 0;
  halfCloses = 0;
  bytesVerified = 0;
  readonly wellBehavedErrors = new Errors();
  resets = 0;
  idleTimeouts = 0;
  readonly idleErrors = new Errors();
  nonReaders = 0;
  /** Replies to garbage, keyed by what was sent and what came back. */
  readonly garbage = new Tally();
  healthOk = 0;
  healthSlowestMs = 0;
  readonly healthErrors = new Errors();
  /** Surprises for resetting, non-reading and garbage clients. */
  readonly otherErrors = new Errors();
}

// ---------------------------------------------------------------- the service

/** The ports the service printed. */
interface Ports {
  echo: number;
  http: number;
}

/** The echoserver under test, running as its own process. */
interface Service {
  pid: number;
  ports: Ports;
  /** Sent as the bearer token of `POST /die`, if the service takes one. */
  dieToken: string | undefined;
  /** What it wrote to standard error. */
  log: ServerLog;
  /** Its exit code, once it has exited and its output is read. */
  exited: Promise<number>;
  /** Whether it is still running. */
  running(): boolean;
  /** Kills it, if it is still running. */
  kill(): void;
}

/** The service's log lines, counted by level and by message. */
class ServerLog {
  readonly levels = new Tally();
  /** Messages with their numbers (client ids, ports) replaced by N. */
  readonly messages = new Tally();
  /** The first few lines that are not log lines, such as a stack trace. */
  readonly strayLines: string[] = [];

  add(line: string): void {
    const match = line.match(/^(debug|info|warning|error): (.*)$/);
    if (match === null) {
      this.levels.add("other");
      if (this.strayLines.length < 10) this.strayLines.push(line);
      return;
    }
    this.levels.add(match[1]);
    this.messages.add(`${match[1]}: ${match[2].replace(/\d+/g, "N")}`);
  }
}

function serviceCommand(args: string[], signal?: AbortSignal): Deno.Command {
  const inherited = Object.entries(Deno.env.toObject()).filter(([name]) =>
    !name.startsWith("ECHOSERVER__")
  );
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", "--allow-env", "main.ts", ...args],
    cwd: ROOT,
    clearEnv: true,
    env: { ...Object.fromEntries(inherited), NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal,
  });
}

/** Whether this version of the service has the `--die-token` flag. */
async function takesDieToken(): Promise<boolean> {
  const help = await serviceCommand(["--help"], AbortSignal.timeout(15_000))
    .output();
  return new TextDecoder().decode(help.stdout).includes("--die-token");
}

async function startService(): Promise<Service> {
  const dieToken = await takesDieToken() ? crypto.randomUUID() : undefined;
  const child = serviceCommand([
    ...["--echo-host", HOST, "--echo-port", "0"],
    ...["--http-host", HOST, "--http-port", "0"],
    ...["--idle-timeout", String(IDLE_TIMEOUT_MS / 1000)],
    ...["--idle-refresh", String(IDLE_REFRESH_MS / 1000)],
    ...(dieToken === undefined ? [] : ["--die-token", dieToken]),
  ]).spawn();
  const log = new ServerLog();
  let running = true;
  child.status.then(() => running = false);
  const ports = Promise.withResolvers<Ports>();
  const exited = Promise.all([
    child.status,
    forEachLine(child.stdout, portsReader(ports.resolve)),
    forEachLine(child.stderr, (line) => log.add(line)),
  ]).then(([status]) => status.code);
  exited.then(() => ports.reject(new Error("the service exited at start")));
  const kill = () => killChild(child);
  try {
    const found = await within(ports.promise, START_LIMIT_MS, "start");
    return {
      pid: child.pid,
      ports: found,
      dieToken,
      log,
      exited,
      running: () => running,
      kill,
    };
  } catch (error) {
    kill();
    await exited;
    throw error;
  }
}

/** A line handler that calls `found` once both startup lines are seen. */
function portsReader(found: (ports: Ports) => void): (line: string) => void {
  let echo: number | undefined;
  let http: number | undefined;
  return (line) => {
    echo ??= portIn(line, /^echo listening on .*:(\d+)$/);
    http ??= portIn(line, /^http listening on http:\/\/.*:(\d+)\/$/);
    if (echo !== undefined && http !== undefined) found({ echo, http });
  };
}

function portIn(line: string, pattern: RegExp): number | undefined {
  const match = line.match(pattern);
  return match === null ? undefined : Number(match[1]);
}

async function forEachLine(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
): Promise<void> {
  let partial = "";
  for await (const text of stream.pipeThrough(new TextDecoderStream())) {
    const lines = (partial + text).split("\n");
    partial = lines.pop()!;
    lines.forEach(onLine);
  }
  if (partial) onLine(partial);
}

/**
 * Stops the service with `POST /die` and returns the reply's status and the
 * exit code; kills it (and reports exit code null) if it does not exit.
 */
async function stopService(
  service: Service,
): Promise<{ dieStatus: number | null; exitCode: number | null }> {
  const authorization = service.dieToken === undefined
    ? []
    : [`Authorization: Bearer ${service.dieToken}`];
  const die = request("POST /die HTTP/1.1", [
    ...authorization,
    "Content-Length: 0",
  ]);
  const dieStatus = await httpExchange(service.ports.http, die, STOP_LIMIT_MS)
    .then((reply) => reply.status, () => null);
  try {
    const exitCode = await within(service.exited, STOP_LIMIT_MS, "stop");
    return { dieStatus, exitCode };
  } catch {
    service.kill();
    await service.exited;
    return { dieStatus, exitCode: null };
  }
}

// ---------------------------------------------------------------- /proc

/** A process's open descriptors and memory. */
interface ProcessSample {
  fds: number;
  /** Resident memory, in bytes. */
  rss: number;
  /** The most resident memory so far, in bytes. */
  peakRss: number;
}

async function sampleProcess(
  pid: number,
  fds: number,
): Promise<ProcessSample> {
  const status = await readProc("cat", `/proc/${pid}/status`);
  const bytes = (field: string) =>
    KiB * Number(status.match(new RegExp(`^${field}:\\s+(\\d+) kB`, "m"))![1]);
  return { fds, rss: bytes("VmRSS"), peakRss: bytes("VmHWM") };
}

async function countFds(pid: number): Promise<number> {
  const listing = await readProc("ls", "-1", `/proc/${pid}/fd`);
  return listing.split("\n").filter((line) => line !== "").length;
}

/**
 * The output of `ls` or `cat` on a file under /proc: Deno wants --allow-all
 * to read another process's /proc files itself.
 */
async function readProc(command: "ls" | "cat", ...args: string[]) {
  const { success, stdout, stderr } = await new Deno.Command(command, {
    args,
    stdin: "null",
  }).output();
  const decoder = new TextDecoder();
  if (!success) throw new Error(`${command}: ${decoder.decode(stderr)}`);
  return decoder.decode(stdout);
}

/**
 * The descriptor count once it has settled: polled until it is back to
 * `baseline` or steady, for at most {@linkcode SETTLE_LIMIT_MS}.
 */
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

// ---------------------------------------------------------------- sockets

/** A connection that {@linkcode withConn} cut because it took too long. */
class TimeoutError extends Error {
  override name = "TimeoutError";
}

/**
 * Connects to `port`, runs `use` on the connection and closes it. If `use`
 * has not settled within `limitMs` the connection is closed under it, which
 * settles its reads and writes, and the error it then throws becomes a
 * {@linkcode TimeoutError}.
 */
async function withConn<T>(
  port: number,
  limitMs: number,
  use: (conn: Deno.TcpConn) => Promise<T>,
): Promise<T> {
  const conn = await Deno.connect({ hostname: HOST, port });
  let expired = false;
  const timer = setTimeout(() => {
    expired = true;
    closeQuietly(conn);
  }, limitMs);
  try {
    return await use(conn);
  } catch (error) {
    if (!expired) throw error;
    throw new TimeoutError(`cut after ${limitMs} ms`, { cause: error });
  } finally {
    clearTimeout(timer);
    closeQuietly(conn);
  }
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch (error) {
    if (!(error instanceof Deno.errors.BadResource)) throw error;
  }
}

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  for (let written = 0; written < data.length;) {
    written += await conn.write(data.subarray(written));
  }
}

/** Writes `data` without waiting; a write cut short by a close is fine. */
function writeInBackground(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  return writeAll(conn, data).catch(() => {
    // The connection was closed (by either side) before all was written.
  });
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const all = new Uint8Array(chunks.reduce((sum, c) => sum + c.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    all.set(chunk, offset);
    offset += chunk.length;
  }
  return all;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ---------------------------------------------------------------- HTTP

/** An HTTP reply, as much of it as was read. */
interface HttpReply {
  /** The status code, or null if none came. */
  status: number | null;
  body: string;
  /** Whether the head and all the body it announced are in. */
  complete: boolean;
}

/** A request: its line, `Host`, `Connection: close`, `headers`, `body`. */
function request(
  line: string,
  headers: string[] = [],
  body: Uint8Array = new Uint8Array(),
): Uint8Array {
  const head = [line, `Host: ${HOST}`, "Connection: close", ...headers, "", ""];
  return concat([ascii(head.join("\r\n")), body]);
}

function ascii(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/**
 * Sends `bytes` to the HTTP port on a connection of its own and, while still
 * sending, reads the reply until it is complete or the server closes.
 */
function httpExchange(
  port: number,
  bytes: Uint8Array,
  limitMs: number,
): Promise<HttpReply> {
  return withConn(port, limitMs, async (conn) => {
    const sending = writeInBackground(conn, bytes);
    const reply = await readReply(conn);
    conn.close();
    await sending;
    return reply;
  });
}

/** Reads a reply until all its body is in or the server closes. */
async function readReply(conn: Deno.Conn): Promise<HttpReply> {
  const decoder = new TextDecoder();
  const buffer = new Uint8Array(16 * KiB);
  let text = "";
  for (let size; (size = await conn.read(buffer)) !== null;) {
    text += decoder.decode(buffer.subarray(0, size), { stream: true });
    const reply = parseReply(text);
    if (reply.complete) return reply;
  }
  return parseReply(text);
}

function parseReply(text: string): HttpReply {
  const status = text.match(/^HTTP\/1\.[01] (\d{3}) /)?.[1];
  const headEnd = text.indexOf("\r\n\r\n");
  const head = headEnd < 0 ? text : text.slice(0, headEnd);
  const body = headEnd < 0 ? "" : text.slice(headEnd + 4);
  const length = head.match(/^content-length: *(\d+)\r?$/im)?.[1];
  return {
    status: status === undefined ? null : Number(status),
    body,
    complete: headEnd >= 0 && length !== undefined &&
      body.length >= Number(length),
  };
}

async function healthCheck(port: number): Promise<void> {
  const reply = await httpExchange(
    port,
    request("GET /healthcheck HTTP/1.1"),
    HEALTH_LIMIT_MS,
  );
  if (reply.status !== 200 || reply.body !== "ok computer") {
    throw new Error(`health check: ${reply.status} ${reply.body}`);
  }
}

/** Malformed or oversized requests for the HTTP port, by name. */
const GARBAGE: [string, (random: Random) => Uint8Array][] = [
  ["random bytes", (random) => random.bytes(random.size(64 * KiB))],
  [
    "200 KB request line",
    () => request(`GET /${"a".repeat(200_000)} HTTP/1.1`),
  ],
  [
    "1000 1 KB headers",
    () =>
      request(
        "GET /healthcheck HTTP/1.1",
        Array.from(
          { length: 1_000 },
          (_, i) => `X-Padding-${i}: ${"x".repeat(1_000)}`,
        ),
      ),
  ],
  [
    "Content-Length 1e9 to POST /die, no token",
    (random) =>
      request(
        "POST /die HTTP/1.1",
        ["Content-Length: 1000000000"],
        random.bytes(64 * KiB),
      ),
  ],
];

// ---------------------------------------------------------------- echo clients

/** Checks an echo, byte for byte, against what was sent and not yet seen. */
class EchoCheck {
  readonly #unseen: Uint8Array[] = [];
  /** How much of `#unseen[0]` has come back. */
  #offset = 0;
  #sent = 0;
  #verified = 0;
  #sendingDone = false;

  /** Notes a chunk as sent; call before writing it. */
  sent(chunk: Uint8Array): void {
    this.#unseen.push(chunk);
    this.#sent += chunk.length;
  }

  /** Notes that nothing more will be sent. */
  sendingDone(): void {
    this.#sendingDone = true;
  }

  /** Checks bytes received; throws if they are not the next ones sent. */
  received(data: Uint8Array): void {
    for (let at = 0; at < data.length;) {
      const chunk = this.#unseen[0];
      if (chunk === undefined) {
        throw new Error(`echo has more than the ${this.#sent} bytes sent`);
      }
      const size = Math.min(chunk.length - this.#offset, data.length - at);
      const expected = chunk.subarray(this.#offset, this.#offset + size);
      const mismatch = firstDifference(expected, data.subarray(at, at + size));
      if (mismatch >= 0) {
        throw new Error(`echoed byte ${this.#verified + mismatch} differs`);
      }
      at += size;
      this.#verified += size;
      this.#offset += size;
      if (this.#offset === chunk.length) {
        this.#unseen.shift();
        this.#offset = 0;
      }
    }
  }

  /** At the end of the echo: the bytes verified; throws if any are missing. */
  ended(): number {
    if (!this.#sendingDone) {
      throw new Error(`echo ended after ${this.#verified} bytes, mid-send`);
    }
    if (this.#verified < this.#sent) {
      throw new Error(`echo ended at ${this.#verified} of ${this.#sent} bytes`);
    }
    return this.#verified;
  }
}

function firstDifference(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

/** Sends random chunks with random short pauses, then half-closes. */
async function sendChunks(
  conn: Deno.TcpConn,
  random: Random,
  check: EchoCheck,
  shape: { chunksMax: number; chunkMax: number },
): Promise<void> {
  const chunks = random.int(1, shape.chunksMax);
  for (let i = 0; i < chunks; i++) {
    await sleep(random.int(0, PAUSE_MAX_MS));
    const chunk = random.bytes(random.size(shape.chunkMax));
    check.sent(chunk);
    await writeAll(conn, chunk);
  }
  check.sendingDone();
  await conn.closeWrite();
}

/** Reads the echo to its end, checking it; the bytes verified. */
async function receiveEcho(conn: Deno.Conn, check: EchoCheck): Promise<number> {
  const buffer = new Uint8Array(64 * KiB);
  for (let size; (size = await conn.read(buffer)) !== null;) {
    check.received(buffer.subarray(0, size));
  }
  return check.ended();
}

/** Sends random chunks while reading the echo back, then half-closes. */
async function fullDuplexClient(
  port: number,
  random: Random,
  stats: Stats,
): Promise<void> {
  const verified = await withConn(port, CLIENT_LIMIT_MS, async (conn) => {
    const check = new EchoCheck();
    const shape = { chunksMax: CHUNKS_MAX, chunkMax: CHUNK_MAX };
    const [, verified] = await Promise.all([
      sendChunks(conn, random, check, shape),
      receiveEcho(conn, check),
    ]);
    return verified;
  });
  stats.served++;
  stats.bytesVerified += verified;
}

/** Sends a little, half-closes, then reads the echo back. */
async function halfCloseClient(
  port: number,
  random: Random,
  stats: Stats,
): Promise<void> {
  const verified = await withConn(port, CLIENT_LIMIT_MS, async (conn) => {
    const check = new EchoCheck();
    const shape = {
      chunksMax: HALF_CLOSE_CHUNKS_MAX,
      chunkMax: HALF_CLOSE_CHUNK_MAX,
    };
    await sendChunks(conn, random, check, shape);
    return await receiveEcho(conn, check);
  });
  stats.served++;
  stats.halfCloses++;
  stats.bytesVerified += verified;
}

/** Sends, reads a little, and closes with echoed data unread: a reset. */
async function resetClient(
  port: number,
  random: Random,
  stats: Stats,
): Promise<void> {
  await withConn(port, CLIENT_LIMIT_MS, async (conn) => {
    const size = random.int(RESET_BYTES.min, RESET_BYTES.max);
    const sending = writeInBackground(conn, random.bytes(size));
    const read = await conn.read(new Uint8Array(random.int(1, KiB)));
    if (read === null) throw new Error("resetting client: closed by server");
    await sleep(RESET_LINGER_MS);
    conn.close();
    await sending;
  });
  stats.resets++;
}

/** Sends nothing and expects the server to close after the idle timeout. */
async function idleClient(port: number, stats: Stats): Promise<void> {
  // Timed from before connecting: the server's deadline starts later, at the
  // accept, and however late this process gets to run, never earlier.
  const start = performance.now();
  await withConn(port, IDLE_LIMIT_MS, async (conn) => {
    const read = await conn.read(new Uint8Array(1));
    const elapsedMs = Math.round(performance.now() - start);
    if (read !== null) throw new Error("idle client: the server sent data");
    if (elapsedMs < IDLE_EARLIEST_MS) {
      throw new Error(`idle client: closed after only ${elapsedMs} ms`);
    }
  });
  stats.idleTimeouts++;
}

/** Writes a few MiB, reads nothing, and closes after a while. */
async function nonReader(
  port: number,
  random: Random,
  stats: Stats,
): Promise<void> {
  const data = random.bytes(
    random.int(NON_READER_BYTES.min, NON_READER_BYTES.max),
  );
  await withConn(port, CLIENT_LIMIT_MS, async (conn) => {
    const sending = writeInBackground(conn, data);
    await sleep(NON_READER_HOLD_MS);
    conn.close();
    await sending;
  });
  stats.nonReaders++;
}

/** Sends one kind of garbage to the HTTP port and notes the reply. */
async function garbageClient(
  port: number,
  random: Random,
  stats: Stats,
): Promise<void> {
  const [kind, build] = random.pick(GARBAGE);
  let outcome: string;
  try {
    const reply = await httpExchange(port, build(random), GARBAGE_LIMIT_MS);
    outcome = reply.status === null ? "closed" : String(reply.status);
  } catch (error) {
    if (error instanceof TimeoutError) outcome = "no reply";
    else if (error instanceof Deno.errors.ConnectionReset) outcome = "reset";
    else throw error;
  }
  stats.garbage.add(`${kind} -> ${outcome}`);
  await sleep(GARBAGE_PAUSE_MS);
}

// ---------------------------------------------------------------- the load

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
  port: number,
  stats: Stats,
): Promise<void> {
  while (!stop.aborted) {
    const start = performance.now();
    try {
      await healthCheck(port);
      stats.healthOk++;
    } catch (error) {
      stats.healthErrors.add(error);
    }
    const tookMs = performance.now() - start;
    stats.healthSlowestMs = Math.max(stats.healthSlowestMs, tookMs);
    await sleep(Math.max(0, HEALTH_INTERVAL_MS - tookMs));
  }
}

/**
 * Drives the whole mix at the service for `ms` milliseconds, or until it
 * exits, and waits for every client to finish.
 */
async function runLoad(
  service: Service,
  random: Random,
  stats: Stats,
  ms: number,
): Promise<void> {
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(), ms);
  service.exited.then(() => stop.abort());
  const { echo, http } = service.ports;
  const { wellBehavedErrors, idleErrors, otherErrors } = stats;
  const mix: [number, Errors, (random: Random) => Promise<void>][] = [
    [
      WORKERS.fullDuplex,
      wellBehavedErrors,
      (r) => fullDuplexClient(echo, r, stats),
    ],
    [
      WORKERS.halfClose,
      wellBehavedErrors,
      (r) => halfCloseClient(echo, r, stats),
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

// ---------------------------------------------------------------- report

/** Everything the report shows. */
interface Outcome {
  seed: number;
  loadSeconds: number;
  stats: Stats;
  before: ProcessSample;
  /** Null if the server had exited by the end of the load. */
  after: ProcessSample | null;
  dieStatus: number | null;
  exitCode: number | null;
  log: ServerLog;
}

/** Why the soak failed; empty if it passed. */
function failures(outcome: Outcome): string[] {
  const { stats, before, after, dieStatus, exitCode } = outcome;
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
  if (dieStatus !== 200) reasons.push(`POST /die answered ${dieStatus}`);
  if (exitCode !== 0) reasons.push(`the server exited with ${exitCode}`);
  return reasons;
}

function report(outcome: Outcome): string[] {
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
    row("garbage requests", sum(stats.garbage)),
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
    row("POST /die", outcome.dieStatus ?? "no reply"),
    row("server exit code", outcome.exitCode ?? "none, killed"),
    row("server log lines", formatTally(log.levels)),
    ...indented(log.messages.entries().map(([m, n]) => `${n} x ${m}`)),
    ...indented(log.strayLines.map((line) => `not a log line: ${line}`)),
    failed.length === 0 ? "PASS" : `FAIL: ${failed.join("; ")}`,
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

function sum(tally: Tally): number {
  return tally.entries().reduce((total, [, count]) => total + count, 0);
}

function formatTally(tally: Tally): string {
  const entries = tally.entries();
  if (entries.length === 0) return "none";
  return entries.map(([key, count]) => `${count} ${key}`).join(", ");
}

function errorMessage(error: unknown): string {
  return error instanceof Error
    ? `${error.name}: ${error.message}`
    : `${error}`;
}

// ---------------------------------------------------------------- main

async function soak(service: Service, options: SoakOptions): Promise<Outcome> {
  const stats = new Stats();
  const before = await sampleProcess(service.pid, await countFds(service.pid));
  const start = performance.now();
  await runLoad(
    service,
    new Random(options.seed),
    stats,
    options.seconds * 1000,
  );
  const loadSeconds = (performance.now() - start) / 1000;
  const after = service.running()
    ? await sampleProcess(
      service.pid,
      await settledFdCount(service.pid, before.fds),
    )
    : null;
  const { dieStatus, exitCode } = await stopService(service);
  return {
    seed: options.seed,
    loadSeconds,
    stats,
    before,
    after,
    dieStatus,
    exitCode,
    log: service.log,
  };
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
