/**
 * The load client for machines without a C compiler: the same modes,
 * arguments and one-line JSON output as loadgen.c (see the comment at its
 * top), in TypeScript. It costs more CPU than the C client, so its figures
 * are more often client-bound.
 *
 * ```sh
 * deno run --allow-net bench/loadgen_deno.ts pingpong PORT 50 64 1000 4000
 * ```
 *
 * With `--tls CA_FILE` first, every connection is TLS, trusting the
 * certificate in CA_FILE (which needs `--allow-read`), and one more mode
 * measures handshakes:
 *
 *     handshakes PORT CONNS WARMUP DURATION
 *         each of CONNS loops connects, completes the handshake, echoes one
 *         byte and closes -> {"handshakes":N,"seconds":S}
 *
 * One mode of its own, which loadgen.c does not have:
 *
 *     websocket PORT CONNS SIZE WARMUP DURATION
 *         ping-pong over CONNS WebSockets on ws://127.0.0.1:PORT/ws, each
 *         sending a binary message of SIZE bytes and waiting for its echo ->
 *         the same JSON as pingpong
 *
 * @module
 */

const PATTERN_PERIOD = 251;
const HOLD_LIMIT_MS = 10 * 60 * 1000;
const IDLE_READ_LIMIT_MS = 1_000;
const REQUEST = new TextEncoder().encode(
  "GET /healthcheck HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
);
const BODY = "ok computer";

/** Work counted only between `from` and `end` (performance.now() times). */
class Window {
  readonly from: number;
  readonly end: number;

  constructor(warmupMs: number, readonly durationMs: number) {
    this.from = performance.now() + warmupMs;
    this.end = this.from + durationMs;
  }

  get open(): boolean {
    return performance.now() < this.end;
  }

  counts(time: number): boolean {
    return time >= this.from && time < this.end;
  }
}

/** The certificate to trust, when connections are TLS (`--tls`). */
let caCerts: string[] | undefined;

async function connect(port: number): Promise<Deno.Conn> {
  const address = { hostname: "127.0.0.1", port };
  if (caCerts) {
    const conn = await Deno.connectTls({ ...address, caCerts });
    await conn.handshake();
    return conn;
  }
  const conn = await Deno.connect(address);
  conn.setNoDelay(true);
  return conn;
}

/** Opens `conns` connections to `port` at once. */
function connectAll(port: number, conns: number): Promise<Deno.Conn[]> {
  return Promise.all(Array.from({ length: conns }, () => connect(port)));
}

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  for (let written = 0; written < data.length;) {
    written += await conn.write(data.subarray(written));
  }
}

async function readSome(conn: Deno.Conn, buffer: Uint8Array): Promise<number> {
  const size = await conn.read(buffer);
  if (size === null) throw new Error("connection closed by the server");
  return size;
}

async function pingpong(
  port: number,
  conns: number,
  size: number,
  warmupMs: number,
  durationMs: number,
): Promise<object> {
  const sockets = await connectAll(port, conns);
  const window = new Window(warmupMs, durationMs);
  const latencies: number[] = [];
  await Promise.all(sockets.map(async (conn, id) => {
    const message = new Uint8Array(size);
    const echo = new Uint8Array(size);
    for (let sequence = 0; window.open; sequence++) {
      message.forEach((_, i) => message[i] = id * 13 + sequence * 7 + i);
      const sentAt = performance.now();
      await writeAll(conn, message);
      for (let got = 0; got < size;) {
        got += await readSome(conn, echo.subarray(got));
      }
      if (!echo.every((byte, i) => byte === message[i])) {
        throw new Error(`echo mismatch on connection ${id}`);
      }
      const done = performance.now();
      if (window.counts(done)) latencies.push((done - sentAt) * 1e3);
    }
    conn.close();
  }));
  return percentiles(latencies, durationMs);
}

/** {@linkcode pingpong} over WebSockets, each message a binary one. */
async function websocketPingpong(
  port: number,
  conns: number,
  size: number,
  warmupMs: number,
  durationMs: number,
): Promise<object> {
  const sockets = await Promise.all(
    Array.from(
      { length: conns },
      () =>
        new Promise<WebSocket>((resolve, reject) => {
          const socket = new WebSocket(`ws://127.0.0.1:${port}/ws`);
          socket.binaryType = "arraybuffer";
          socket.onopen = () => resolve(socket);
          socket.onerror = (event) => reject((event as ErrorEvent).message);
        }),
    ),
  );
  const window = new Window(warmupMs, durationMs);
  const latencies: number[] = [];
  await Promise.all(
    sockets.map((socket, id) =>
      new Promise<void>((resolve, reject) => {
        const message = new Uint8Array(size);
        let sentAt = 0;
        let sequence = 0;
        const send = () => {
          message.forEach((_, i) => message[i] = id * 13 + sequence * 7 + i);
          sentAt = performance.now();
          socket.send(message);
        };
        socket.onmessage = ({ data }) => {
          const echo = new Uint8Array(data);
          if (!echo.every((byte, i) => byte === message[i])) {
            return reject(new Error(`echo mismatch on WebSocket ${id}`));
          }
          const done = performance.now();
          if (window.counts(done)) latencies.push((done - sentAt) * 1e3);
          sequence++;
          if (window.open) return send();
          socket.onclose = () => resolve();
          socket.close();
        };
        socket.onclose = () => reject(new Error("closed by the server"));
        send();
      })
    ),
  );
  return percentiles(latencies, durationMs);
}

/** The result of a ping-pong: messages counted, and their latencies. */
function percentiles(latencies: number[], durationMs: number): object {
  if (latencies.length === 0) throw new Error("no message completed");
  return roundTrips(latencies, durationMs);
}

/** The count and percentiles of round trips that took `latencies` µs. */
function roundTrips(latencies: number[], durationMs: number) {
  latencies.sort((a, b) => a - b);
  const at = (share: number) =>
    latencies[Math.floor((latencies.length - 1) * share)];
  return {
    messages: latencies.length,
    seconds: durationMs / 1e3,
    p50_us: at(0.5),
    p99_us: at(0.99),
  };
}

/** How long a datagram may take to come back before it counts as lost. */
const UDP_LOSS_MS = 100;

async function udp(
  port: number,
  conns: number,
  size: number,
  warmupMs: number,
  durationMs: number,
): Promise<object> {
  // Deno.listenDatagram would need --unstable-net.
  const { createSocket } = await import("node:dgram");
  const window = new Window(warmupMs, durationMs);
  const latencies: number[] = [];
  let lost = 0;
  await Promise.all(Array.from({ length: conns }, async (_, id) => {
    const socket = createSocket("udp4");
    await new Promise<void>((resolve) =>
      socket.connect(port, "127.0.0.1", resolve)
    );
    const message = new Uint8Array(size);
    let arrived: ((echo: Uint8Array) => void) | undefined;
    socket.on("message", (echo: Uint8Array) => arrived?.(echo));
    for (let sequence = 0; window.open; sequence++) {
      message.forEach((_, i) => message[i] = id * 13 + sequence * 7 + i);
      const sentAt = performance.now();
      const back = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), UDP_LOSS_MS);
        // A late echo of a datagram counted lost is not this one.
        arrived = (echo) => {
          if (echo.length !== size || !echo.every((b, i) => b === message[i])) {
            return;
          }
          clearTimeout(timer);
          resolve(true);
        };
        socket.send(message);
      });
      const done = performance.now();
      if (!window.counts(done)) continue;
      if (back) latencies.push((done - sentAt) * 1e3);
      else lost++;
    }
    socket.close();
  }));
  if (latencies.length === 0) throw new Error("no datagram came back");
  return { ...roundTrips(latencies, durationMs), lost };
}

async function stream(
  port: number,
  chunk: number,
  warmupMs: number,
  durationMs: number,
): Promise<object> {
  const pattern = Uint8Array.from(
    { length: chunk + PATTERN_PERIOD },
    (_, i) => i % PATTERN_PERIOD,
  );
  const conn = await connect(port);
  const window = new Window(warmupMs, durationMs);
  // Closing at the end settles whichever read or write is pending.
  let closed = false;
  const timer = setTimeout(() => {
    closed = true;
    conn.close();
  }, warmupMs + durationMs);
  let verified = 0;
  const writer = async () => {
    for (let sent = 0; !closed;) {
      const offset = sent % PATTERN_PERIOD;
      sent += await conn.write(
        pattern.subarray(offset, offset + chunk - sent % chunk),
      );
    }
  };
  const reader = async () => {
    const buffer = new Uint8Array(chunk);
    for (let received = 0; !closed;) {
      const size = await readSome(conn, buffer);
      const offset = received % PATTERN_PERIOD;
      for (let i = 0; i < size; i++) {
        if (buffer[i] !== pattern[offset + i]) {
          throw new Error(`echo mismatch at byte ${received + i}`);
        }
      }
      received += size;
      if (window.counts(performance.now())) verified += size;
    }
  };
  try {
    await Promise.all([writer(), reader()]);
  } catch (error) {
    if (!closed) throw error;
  } finally {
    clearTimeout(timer);
    if (!closed) conn.close();
  }
  if (verified === 0) throw new Error("no byte echoed");
  return { bytes: verified, seconds: durationMs / 1e3 };
}

async function http(
  port: number,
  conns: number,
  warmupMs: number,
  durationMs: number,
): Promise<object> {
  const sockets = await connectAll(port, conns);
  const window = new Window(warmupMs, durationMs);
  let requests = 0;
  await Promise.all(sockets.map(async (conn) => {
    const buffer = new Uint8Array(4096);
    const decoder = new TextDecoder();
    while (window.open) {
      await writeAll(conn, REQUEST);
      let response = "";
      while (!responseComplete(response)) {
        if (response.length >= buffer.length) throw new Error("too long");
        response += decoder.decode(
          buffer.subarray(0, await readSome(conn, buffer)),
        );
      }
      if (window.counts(performance.now())) requests++;
    }
    conn.close();
  }));
  if (requests === 0) throw new Error("no request completed");
  return { requests, seconds: durationMs / 1e3 };
}

/** Whether `response` is one whole 200 response with the expected body. */
function responseComplete(response: string): boolean {
  const headEnd = response.indexOf("\r\n\r\n");
  if (headEnd < 0) return false;
  if (!response.startsWith("HTTP/1.1 200 ")) {
    throw new Error(`unexpected response: ${response.slice(0, 40)}`);
  }
  const length = response.slice(0, headEnd).match(
    /\r\ncontent-length:\s*(\d+)/i,
  );
  if (!length) throw new Error("response without Content-Length");
  const body = response.slice(headEnd + 4);
  if (body.length < Number(length[1])) return false;
  if (body !== BODY) throw new Error(`unexpected body: ${body}`);
  return true;
}

async function churn(
  port: number,
  conns: number,
  warmupMs: number,
  durationMs: number,
): Promise<{ connections: number; seconds: number }> {
  const window = new Window(warmupMs, durationMs);
  let connections = 0;
  await Promise.all(Array.from({ length: conns }, async () => {
    const back = new Uint8Array(1);
    while (window.open) {
      const conn = await connect(port);
      await writeAll(conn, Uint8Array.of(120));
      if (await conn.read(back) !== 1 || back[0] !== 120) {
        throw new Error("no echo");
      }
      conn.close();
      if (window.counts(performance.now())) connections++;
    }
  }));
  if (connections === 0) throw new Error("no connection completed");
  return { connections, seconds: durationMs / 1e3 };
}

async function idle(
  port: number,
  conns: number,
  timeoutMs: number,
  bytes = 1,
): Promise<void> {
  const pattern = Uint8Array.from(
    { length: bytes },
    (_, i) => 120 + i % PATTERN_PERIOD,
  );
  const end = performance.now() + timeoutMs;
  const held: Deno.Conn[] = [];
  let echoed = 0;
  while (held.length < conns && performance.now() < end) {
    const conn = await connect(port);
    held.push(conn);
    await writeAll(conn, pattern);
    if (await echoedWithin(conn, pattern, IDLE_READ_LIMIT_MS)) echoed++;
  }
  console.log(JSON.stringify({ echoed }));
  const released = (async () => {
    for await (const _ of Deno.stdin.readable);
  })();
  await Promise.race([
    released,
    new Promise((resolve) => setTimeout(resolve, HOLD_LIMIT_MS)),
  ]);
  for (const conn of held) conn.close();
}

/** Whether `conn` echoes `sent` back, each read within `limitMs`. */
async function echoedWithin(
  conn: Deno.Conn,
  sent: Uint8Array,
  limitMs: number,
): Promise<boolean> {
  const back = new Uint8Array(sent.length);
  for (let received = 0; received < sent.length;) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const size = await Promise.race([
      conn.read(back.subarray(received)),
      new Promise<null>((resolve) => {
        timer = setTimeout(() => resolve(null), limitMs);
      }),
    ]);
    clearTimeout(timer);
    if (size === null) return false;
    received += size;
  }
  return back.every((byte, i) => byte === sent[i]);
}

async function main(args: string[]): Promise<void> {
  if (args[0] === "--tls") {
    caCerts = [await Deno.readTextFile(args[1])];
    args = args.slice(2);
  }
  const [mode, ...rest] = args;
  const numbers = rest.map(Number);
  if (numbers.some((n) => !Number.isInteger(n) || n < 0)) {
    throw new Error(`bad arguments: ${rest.join(" ")}`);
  }
  const [port, a, b, c, d] = numbers;
  if (mode === "pingpong" && numbers.length === 5) {
    console.log(JSON.stringify(await pingpong(port, a, b, c, d)));
  } else if (mode === "websocket" && numbers.length === 5) {
    console.log(JSON.stringify(await websocketPingpong(port, a, b, c, d)));
  } else if (mode === "udp" && numbers.length === 5) {
    console.log(JSON.stringify(await udp(port, a, b, c, d)));
  } else if (mode === "stream" && numbers.length === 4) {
    console.log(JSON.stringify(await stream(port, a, b, c)));
  } else if (mode === "http" && numbers.length === 4) {
    console.log(JSON.stringify(await http(port, a, b, c)));
  } else if (mode === "churn" && numbers.length === 4) {
    console.log(JSON.stringify(await churn(port, a, b, c)));
  } else if (mode === "handshakes" && caCerts && numbers.length === 4) {
    // Over TLS each new connection is a handshake: the churn, counted so.
    const { connections, seconds } = await churn(port, a, b, c);
    console.log(JSON.stringify({ handshakes: connections, seconds }));
  } else if (
    mode === "idle" && (numbers.length === 3 || numbers.length === 4)
  ) {
    await idle(port, a, b, c || 1);
  } else {
    throw new Error("usage: see loadgen.c");
  }
}

try {
  await main(Deno.args);
  Deno.exit(0); // Timers and the stdin read may still be pending.
} catch (error) {
  console.error(`loadgen: ${error instanceof Error ? error.message : error}`);
  Deno.exit(1);
}
