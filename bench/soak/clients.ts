/**
 * The kinds of client the soak runs, each over one connection: echo clients
 * that verify every byte (full-duplex or half-closing), clients that reset,
 * stay idle or never read, garbage for the HTTP port, and the health check.
 * Each notes what it saw in {@linkcode Stats}, and throws on a surprise.
 *
 * @module
 */
import { EchoCheck } from "./echo_check.ts";
import { httpExchange, request } from "./http.ts";
import {
  type Endpoint,
  sleep,
  TimeoutError,
  withConn,
  writeAll,
  writeInBackground,
} from "./net.ts";
import type { Random } from "./random.ts";
import {
  CLIENT_LIMIT_MS,
  type EchoShape,
  GARBAGE_LIMIT_MS,
  GARBAGE_PAUSE_MS,
  HEALTH_LIMIT_MS,
  IDLE_EARLIEST_MS,
  IDLE_LIMIT_MS,
  KiB,
  NON_READER_BYTES,
  NON_READER_HOLD_MS,
  RESET_BYTES,
  RESET_LINGER_MS,
} from "./settings.ts";
import type { Stats } from "./stats.ts";

/**
 * Sends random chunks with random short pauses and half-closes, reading the
 * echo back as it goes (`duplex`) or only after the half-close, and checks
 * every byte of it.
 */
export async function echoClient(
  echo: Endpoint,
  random: Random,
  stats: Stats,
  shape: EchoShape,
): Promise<void> {
  const verified = await withConn(echo, CLIENT_LIMIT_MS, async (conn) => {
    const check = new EchoCheck();
    const sending = sendChunks(conn, random, stats, check, shape);
    if (shape.duplex) {
      const [, verified] = await Promise.all([
        sending,
        receiveEcho(conn, check),
      ]);
      return verified;
    }
    await sending;
    return await receiveEcho(conn, check);
  });
  stats.served++;
  if (!shape.duplex) stats.halfCloses++;
  stats.bytesVerified += verified;
}

/** Sends random chunks with random short pauses, then half-closes. */
async function sendChunks(
  conn: Deno.TcpConn,
  random: Random,
  stats: Stats,
  check: EchoCheck,
  shape: EchoShape,
): Promise<void> {
  const chunks = random.int(1, shape.chunksMax);
  for (let i = 0; i < chunks; i++) {
    await sleep(random.int(0, shape.pauseMaxMs));
    const chunk = random.bytes(random.size(shape.chunkMax));
    check.sent(chunk);
    stats.bytesOffered += chunk.length;
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

/** Sends, reads a little, and closes with echoed data unread: a reset. */
export async function resetClient(
  echo: Endpoint,
  random: Random,
  stats: Stats,
): Promise<void> {
  await withConn(echo, CLIENT_LIMIT_MS, async (conn) => {
    const size = random.int(RESET_BYTES.min, RESET_BYTES.max);
    stats.bytesOffered += size;
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
export async function idleClient(echo: Endpoint, stats: Stats): Promise<void> {
  // Timed from before connecting: the server's deadline starts later, at the
  // accept, and however late this process gets to run, never earlier.
  const start = performance.now();
  await withConn(echo, IDLE_LIMIT_MS, async (conn) => {
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
export async function nonReader(
  echo: Endpoint,
  random: Random,
  stats: Stats,
): Promise<void> {
  const data = random.bytes(
    random.int(NON_READER_BYTES.min, NON_READER_BYTES.max),
  );
  await withConn(echo, CLIENT_LIMIT_MS, async (conn) => {
    stats.bytesOffered += data.length;
    const sending = writeInBackground(conn, data);
    await sleep(NON_READER_HOLD_MS);
    conn.close();
    await sending;
  });
  stats.nonReaders++;
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

/** Sends one kind of garbage to the HTTP port and notes the reply. */
export async function garbageClient(
  http: Endpoint,
  random: Random,
  stats: Stats,
): Promise<void> {
  const [kind, build] = random.pick(GARBAGE);
  const bytes = build(random);
  let outcome: string;
  try {
    const reply = await httpExchange(http, bytes, GARBAGE_LIMIT_MS);
    outcome = reply.status === null ? "closed" : String(reply.status);
    if (reply.status !== null) {
      stats.garbageReplies.add(`${requestPath(bytes)} ${reply.status}`);
    }
  } catch (error) {
    if (error instanceof TimeoutError) outcome = "no reply";
    else if (error instanceof Deno.errors.ConnectionReset) outcome = "reset";
    else throw error;
  }
  stats.garbage.add(`${kind} -> ${outcome}`);
  await sleep(GARBAGE_PAUSE_MS);
}

/** The path of a request's first line, or "" if it has none. */
function requestPath(bytes: Uint8Array): string {
  const start = new TextDecoder().decode(bytes.subarray(0, 256));
  return start.match(/^[A-Z]+ (\/\S*) HTTP\//)?.[1] ?? "";
}

/** `GET /healthcheck`; throws unless it answers 200 `ok computer`. */
export async function healthCheck(http: Endpoint): Promise<void> {
  const reply = await httpExchange(
    http,
    request("GET /healthcheck HTTP/1.1"),
    HEALTH_LIMIT_MS,
  );
  if (reply.status !== 200 || reply.body !== "ok computer") {
    throw new Error(`health check: ${reply.status} ${reply.body}`);
  }
}
