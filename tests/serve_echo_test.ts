import assert from "node:assert/strict";
import { Logger } from "../src/observability/log.ts";
import { createMetrics } from "../src/metrics.ts";
import { serveEcho, type ServeEchoOptions } from "../src/echo/serve_echo.ts";
import type { EchoConn, EchoListener } from "../src/echo/echo_stream.ts";
import { assertEchoes, bytes, connect, writeAll } from "./_echo_client.ts";
import { FakeTime } from "./_fake_time.ts";
import { LineCapture } from "./_line_capture.ts";
import { parseMetrics } from "./_metrics_text.ts";
import {
  type MemoryStream,
  type MemoryStreamOptions,
  memoryStreamPair,
} from "./_memory_stream.ts";
import { readExactly } from "./_read.ts";
import { settlement } from "./_settlement.ts";
import { stub } from "./_stub.ts";
import { test, withinTimeLimit } from "./_time_limit.ts";

const timeouts = { initialMs: 5_000, refreshMs: 30_000 };

/** A listener whose clients and accept failures the test hands in, in order. */
class ScriptedListener implements EchoListener {
  #queue: (EchoConn | Error)[] = [];
  #waiting?: PromiseWithResolvers<EchoConn>;
  closed = false;
  /** How many times `accept` has been called. */
  accepts = 0;

  /**
   * Makes a connected in-memory client; its server end goes to the next
   * accept. Each read of its `remoteAddr` counts in `reads`, if given.
   */
  connect(
    port: number,
    options: MemoryStreamOptions & {
      reads?: { remoteAddr: number };
      /** Each buffer the server reads into, in order. */
      buffers?: Uint8Array[];
      /** Whether the client has said anything, as a relayed TLS one tells. */
      heard?: () => boolean;
    } = {},
  ): MemoryStream {
    const {
      reads = { remoteAddr: 0 },
      buffers,
      heard,
      ...streamOptions
    } = options;
    const [server, client] = memoryStreamPair(streamOptions);
    const remoteAddr: Deno.NetAddr = {
      transport: "tcp",
      hostname: "192.0.2.1",
      port,
    };
    this.#push({
      ...server,
      read(buffer) {
        buffers?.push(buffer);
        return server.read(buffer);
      },
      get remoteAddr() {
        reads.remoteAddr++;
        return remoteAddr;
      },
      get heard() {
        return heard?.();
      },
    });
    return client;
  }

  /** Makes the next accept fail with `error`. */
  fail(error: Error): void {
    this.#push(error);
  }

  accept(): Promise<EchoConn> {
    this.accepts++;
    const next = this.#queue.shift();
    if (next instanceof Error) return Promise.reject(next);
    if (next) return Promise.resolve(next);
    if (this.closed) {
      return Promise.reject(new Deno.errors.BadResource("closed"));
    }
    this.#waiting = Promise.withResolvers();
    return this.#waiting.promise;
  }

  close(): void {
    this.closed = true;
    this.#waiting?.reject(
      new Deno.errors.BadResource("Listener has been closed"),
    );
  }

  #push(next: EchoConn | Error): void {
    const waiting = this.#waiting;
    this.#waiting = undefined;
    if (!waiting) this.#queue.push(next);
    else if (next instanceof Error) waiting.reject(next);
    else waiting.resolve(next);
  }
}

/** Serves a {@linkcode ScriptedListener}; `stop` closes the server and waits. */
function serve(options: Partial<ServeEchoOptions> = {}) {
  const listener = new ScriptedListener();
  const log = new LineCapture();
  const { text, echo: metrics } = createMetrics();
  const server = serveEcho(listener, {
    timeouts,
    maxConnections: 10_000,
    logger: log.logger,
    metrics,
    ...options,
  });
  return {
    listener,
    log,
    /** The value of one sample, such as `name{label="x"}`. */
    async sample(name: string): Promise<number | undefined> {
      return parseMetrics(await text.read()).get(name);
    },
    stop: () => server.close(),
  };
}

/** An accept failure as Deno reports it, with its errno name as `code`. */
function osError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

test("serveEcho() takes a failed accept as one client's and goes on", async () => {
  const { listener, log, stop } = serve();
  listener.fail(
    osError("ENOTCONN", "Transport endpoint is not connected (os error 107)"),
  );
  await log.waitFor(
    'accept failed error="Transport endpoint is not connected (os error 107)"',
  );
  await assertEchoes(listener.connect(1), "still serving");
  assert.equal(listener.closed, false);
  await stop();
});

test("serveEcho() keeps a client's fault from touching other clients", async () => {
  const { listener, log, stop } = serve();
  const faulty = listener.connect(1);
  const healthy = listener.connect(2);
  await assertEchoes(faulty, "one");
  await assertEchoes(healthy, "two");
  faulty.reset();
  assert.match(
    await log.waitFor("connection ended"),
    /^info: connection ended client=1 remote=192.0.2.1:1 reason=reset bytes=3 duration_ms=[\d.]+ error="connection reset"$/,
  );
  await assertEchoes(healthy, "still two");
  await assertEchoes(listener.connect(3), "three");
  await stop();
});

test("serveEcho() lends one pool's buffers to its connections in turn", async () => {
  const { listener, log, stop } = serve();
  const burst = new Uint8Array(100_000).fill(7);
  const large: Uint8Array[] = [];
  for (const client of [1, 2]) {
    const buffers: Uint8Array[] = [];
    const stream = listener.connect(client, { buffers });
    await stream.write(burst);
    assert.deepEqual(await readExactly(stream, burst.length), burst);
    stream.closeWrite();
    await log.waitFor("connection ended", client);
    large.push(buffers.find((buffer) => buffer.length === 65_536)!);
  }
  assert.equal(large[1].buffer, large[0].buffer);
  await stop();
});

test("serveEcho() logs a client's start at debug level and its end in one line at info", async () => {
  using time = new FakeTime();
  using _now = stub(performance, "now", () => time.now);
  const { listener, log, stop } = serve();
  const client = listener.connect(5555);
  await assertEchoes(client, "hello");
  await time.tickAsync(1_234.5);
  client.closeWrite();
  await log.waitFor("connection ended");
  await stop();
  assert.deepEqual(log.lines, [
    "debug: connection opened client=1 remote=192.0.2.1:5555",
    "info: connection ended client=1 remote=192.0.2.1:5555 reason=closed bytes=5 duration_ms=1234.5",
  ]);
});

test("serveEcho() logs an unexpected stream error as a warning, with the error", async () => {
  const { listener, log, stop } = serve();
  const client = listener.connect(1);
  client.reset(new Deno.errors.InvalidData("bad frame"));
  assert.match(
    await log.waitFor("connection ended"),
    /^warning: connection ended client=1 remote=192.0.2.1:1 reason=error bytes=0 duration_ms=[\d.]+ error="bad frame"$/,
  );
  await stop();
});

test("serveEcho() with proxyProtocol echoes what follows the header and logs the client's address, the balancer's as proxy", async () => {
  const { listener, log, stop } = serve({ proxyProtocol: true });
  const client = listener.connect(40000);
  await client.write(
    bytes("PROXY TCP4 203.0.113.9 192.0.2.1 50312 4000\r\nhello"),
  );
  assert.deepEqual(await readExactly(client, 5), bytes("hello"));
  await assertEchoes(client, " again");
  client.closeWrite();
  assert.equal(await client.read(new Uint8Array(1)), null);
  await log.waitFor("connection ended");
  await stop();
  assert.equal(
    log.lines[0],
    "debug: connection opened client=1 remote=203.0.113.9:50312 proxy=192.0.2.1:40000",
  );
  assert.match(
    log.lines[1],
    /^info: connection ended client=1 remote=203\.0\.113\.9:50312 proxy=192\.0\.2\.1:40000 reason=closed bytes=11 duration_ms=[\d.]+$/,
  );
});

test("serveEcho() with proxyProtocol writes IPv6 clients bracketed and IPv4-mapped ones as IPv4, and keeps the socket's address for LOCAL", async () => {
  const { listener, log, stop } = serve({ proxyProtocol: true });
  const mapped = [...Array(10).fill(0), 0xff, 0xff, 198, 51, 100, 7];
  const v6 = [0x20, 0x01, 0x0d, 0xb8, ...Array(11).fill(0), 7];
  const ports = [0x13, 0x88, 0x0f, 0xa0]; // 5000, 4000
  const v2 = (command: number, family: number, block: number[]) =>
    new Uint8Array([
      ...bytes("\r\n\r\n\0\r\nQUIT\n"),
      command,
      family,
      0,
      block.length,
      ...block,
    ]);
  const headers = [
    v2(0x21, 0x21, [...mapped, ...v6, ...ports]),
    v2(0x21, 0x21, [...v6, ...mapped, ...ports]),
    v2(0x20, 0x00, []),
    bytes("PROXY UNKNOWN\r\n"),
  ];
  for (const [index, header] of headers.entries()) {
    const client = listener.connect(index + 1);
    await client.write(header);
    await assertEchoes(client, "x");
    client.closeWrite();
    await log.waitFor("connection ended", index + 1);
  }
  await stop();
  const ended = log.lines.filter((line) => line.includes("connection ended"))
    .map((line) => line.replace(/ reason=.*/, ""));
  assert.deepEqual(ended, [
    "info: connection ended client=1 remote=198.51.100.7:5000 proxy=192.0.2.1:1",
    "info: connection ended client=2 remote=[2001:db8::7]:5000 proxy=192.0.2.1:2",
    "info: connection ended client=3 remote=192.0.2.1:3",
    "info: connection ended client=4 remote=192.0.2.1:4",
  ]);
});

test("serveEcho() with proxyProtocol closes a client with a bad header at once, counts it and logs the flood once a second", async () => {
  using time = new FakeTime();
  using _now = stub(performance, "now", () => time.now);
  const { listener, log, sample, stop } = serve({ proxyProtocol: true });
  for (let port = 1; port <= 5; port++) {
    const client = listener.connect(port);
    await client.write(bytes("GET / HTTP/1.1\r\n\r\n"));
    assert.equal(await client.read(new Uint8Array(1)), null);
  }
  await log.waitFor("connection ended", 5);
  await time.tickAsync(1_000);
  const late = listener.connect(6);
  await late.write(bytes("PROXY TCP4 1.2.3.4 1.2.3.4 1 99999\r\n"));
  assert.equal(await late.read(new Uint8Array(1)), null);
  await log.waitFor("connection ended", 6);
  await stop();
  assert.match(
    log.lines[0],
    /^info: connection ended client=1 remote=192\.0\.2\.1:1 reason=proxy_header bytes=0 duration_ms=[\d.]+ error="not a PROXY protocol header"$/,
  );
  assert.deepEqual(log.lines.filter((line) => line.startsWith("warning")), [
    'warning: bad PROXY protocol header remote=192.0.2.1:1 error="not a PROXY protocol header"',
    'warning: bad PROXY protocol header remote=192.0.2.1:5 error="not a PROXY protocol header" held_back=3',
    'warning: bad PROXY protocol header remote=192.0.2.1:6 error="v1 header with a bad port"',
  ]);
  assert.equal(
    await sample(
      'echoserver_echo_connections_ended_total{reason="proxy_header"}',
    ),
    6,
  );
  assert.equal(await sample("echoserver_echo_bytes_total"), 0);
});

test("serveEcho() with proxyProtocol closes a client that sends no header at the idle timeout", async () => {
  using time = new FakeTime();
  using _now = stub(performance, "now", () => time.now);
  const { listener, log, stop } = serve({ proxyProtocol: true });
  const silent = listener.connect(1);
  await time.tickAsync(timeouts.initialMs - 1);
  assert.equal(log.lines.length, 0);
  await time.tickAsync(1);
  assert.equal(await silent.read(new Uint8Array(1)), null);
  assert.match(
    await log.waitFor("connection ended"),
    /reason=proxy_header bytes=0 duration_ms=5000 error="no PROXY protocol header within 5000 ms"$/,
  );
  await stop();
});

test("serveEcho() without proxyProtocol echoes a PROXY header like any other bytes", async () => {
  const { listener, stop } = serve();
  await assertEchoes(
    listener.connect(1),
    "PROXY TCP4 203.0.113.9 192.0.2.1 50312 4000\r\n",
  );
  await stop();
});

test("serveEcho() counts connections, bytes and durations in its metrics", async () => {
  using time = new FakeTime();
  using _now = stub(performance, "now", () => time.now);
  const { listener, log, sample, stop } = serve({ maxConnections: 2 });
  listener.fail(osError("ENOTCONN", "Transport endpoint is not connected"));
  const closing = listener.connect(1);
  const resetting = listener.connect(2);
  await assertEchoes(closing, "12345");
  await assertEchoes(resetting, "123");
  assert.equal(await listener.connect(3).read(new Uint8Array(1)), null);
  assert.equal(await sample("echoserver_echo_connections_open"), 2);
  assert.equal(await sample("echoserver_echo_bytes_total"), 8);

  await time.tickAsync(2_000);
  closing.closeWrite();
  resetting.reset();
  await log.waitFor("connection ended", 3);
  const idle = listener.connect(4);
  await time.tickAsync(timeouts.initialMs);
  assert.equal(await idle.read(new Uint8Array(1)), null);
  await log.waitFor("connection ended", 4);
  await stop();

  const expected: [string, number][] = [
    ["echoserver_echo_connections_open", 0],
    ["echoserver_echo_connections_accepted_total", 4],
    ["echoserver_echo_connections_rejected_total", 1],
    ['echoserver_echo_accept_errors_total{code="ENOTCONN"}', 1],
    ['echoserver_echo_connections_ended_total{reason="closed"}', 1],
    ['echoserver_echo_connections_ended_total{reason="reset"}', 1],
    ['echoserver_echo_connections_ended_total{reason="idle"}', 1],
    ['echoserver_echo_connections_ended_total{reason="shutdown"}', 0],
    ['echoserver_echo_connections_ended_total{reason="error"}', 0],
    ["echoserver_echo_bytes_total", 8],
    ['echoserver_echo_connection_duration_seconds_bucket{le="1"}', 0],
    ['echoserver_echo_connection_duration_seconds_bucket{le="5"}', 3],
    ["echoserver_echo_connection_duration_seconds_count", 3],
    ["echoserver_echo_connection_duration_seconds_sum", 9],
  ];
  for (const [name, value] of expected) {
    assert.equal(await sample(name), value, name);
  }
});

test("serveEcho() on close() closes the listener and ends once its connections have", async () => {
  const { listener, log, stop } = serve();
  const clients = [listener.connect(1), listener.connect(2)];
  for (const client of clients) await assertEchoes(client, "open");
  await stop();
  assert.equal(listener.closed, true);
  for (const client of clients) {
    assert.equal(await client.read(new Uint8Array(1)), null);
  }
  assert.equal(
    log.lines.filter((line) => line.includes("reason=shutdown bytes=4 "))
      .length,
    2,
  );
  assert.equal(log.lines.some((line) => line.startsWith("warning")), false);
});

test("serveEcho() on close() settles only once a client that stopped reading is cut off, 1 s on", async () => {
  using time = new FakeTime();
  using _now = stub(performance, "now", () => time.now);
  const { listener, stop } = serve();
  const stalled = listener.connect(1, { lockstep: true });
  await stalled.write(bytes("never read"));
  const stopping = stop();
  const stopped = settlement(stopping, time);
  await time.tickAsync(999);
  await time.tickAsync(1);
  await time.runMicrotasks();
  assert.equal(stopped.at, 1_000);
  await stopping;
});

test("serveEcho() closed at once closes the listener, logs nothing, and closes once only", async () => {
  const { listener, log, stop } = serve();
  const closing = stop();
  assert.equal(stop(), closing);
  await closing;
  assert.equal(listener.closed, true);
  assert.deepEqual(log.lines, []);
});

test("serveEcho() closes a client over --max-connections at once and serves the next when a slot frees", async () => {
  const { listener, log, stop } = serve({ maxConnections: 2 });
  const first = listener.connect(1);
  const second = listener.connect(2);
  await assertEchoes(first, "one");
  await assertEchoes(second, "two");
  const third = listener.connect(3);
  assert.equal(await third.read(new Uint8Array(1)), null);
  assert.equal(
    await log.waitFor("warning"),
    "warning: connection limit reached max_connections=2",
  );
  assert.ok(
    log.lines.includes(
      "info: connection ended client=3 remote=192.0.2.1:3 reason=limit",
    ),
  );
  first.closeWrite();
  await log.waitFor("client=1 remote=192.0.2.1:1 reason=closed");
  await assertEchoes(listener.connect(4), "four");
  await assertEchoes(second, "still two");
  await stop();
});

test("serveEcho() at the limit closes the longest silent client that can tell, as idle, to serve a new one, and closes the new one when none is silent", async () => {
  const { listener, log, stop, sample } = serve({ maxConnections: 2 });
  const spoke = { first: false, second: false };
  const first = listener.connect(1, { heard: () => spoke.first });
  const second = listener.connect(2, { heard: () => spoke.second });
  await assertEchoes(second, "two");
  spoke.second = true;
  const third = listener.connect(3, { heard: () => true });
  await assertEchoes(third, "three");
  assert.equal(await first.read(new Uint8Array(1)), null);
  assert.match(
    await log.waitFor("connection ended client=1 "),
    /^info: connection ended client=1 remote=192\.0\.2\.1:1 reason=idle bytes=0 /,
  );
  const fourth = listener.connect(4, { heard: () => false });
  assert.equal(await fourth.read(new Uint8Array(1)), null);
  await log.waitFor("warning: connection limit reached max_connections=2");
  await assertEchoes(second, "still two");
  assert.equal(await sample("echoserver_echo_connections_evicted_total"), 1);
  assert.equal(await sample("echoserver_echo_connections_rejected_total"), 1);
  await stop();
});

test("serveEcho() logs a flood of clients over the limit once a second, with a count, and counts each", async () => {
  using time = new FakeTime();
  using _now = stub(performance, "now", () => time.now);
  const { listener, log, sample, stop } = serve({ maxConnections: 1 });
  await assertEchoes(listener.connect(1), "holding the only slot");
  const limitLines = () => log.lines.filter((line) => /limit/.test(line));
  for (let i = 0; i < 5; i++) {
    assert.equal(await listener.connect(100 + i).read(new Uint8Array(1)), null);
  }
  assert.deepEqual(limitLines(), [
    "info: connection ended client=2 remote=192.0.2.1:100 reason=limit",
    "warning: connection limit reached max_connections=1",
  ]);
  assert.equal(await sample("echoserver_echo_connections_rejected_total"), 5);

  // Once the flood stops, the latest line held back goes out a second on.
  await time.tickAsync(999);
  await time.runMicrotasks();
  assert.equal(limitLines().length, 2);
  await time.tickAsync(1);
  await time.runMicrotasks();
  assert.deepEqual(limitLines().slice(2).sort(), [
    "info: connection ended client=6 remote=192.0.2.1:104 reason=limit held_back=3",
    "warning: connection limit reached max_connections=1 held_back=3",
  ]);

  // And shutdown writes at once what is held back.
  assert.equal(await listener.connect(200).read(new Uint8Array(1)), null);
  assert.equal(limitLines().length, 4);
  await stop();
  assert.deepEqual(limitLines().slice(4).sort(), [
    "info: connection ended client=7 remote=192.0.2.1:200 reason=limit",
    "warning: connection limit reached max_connections=1",
  ]);
});

/**
 * Asserts that the accept loop, which has just failed, waits each of
 * `pauses` (fake milliseconds) in turn before it tries again, and not a
 * millisecond less.
 */
async function assertPauses(
  time: FakeTime,
  listener: ScriptedListener,
  pauses: number[],
): Promise<void> {
  for (const pauseMs of pauses) {
    const accepts = listener.accepts;
    await time.tickAsync(pauseMs - 1);
    assert.equal(listener.accepts, accepts, `accepted within ${pauseMs} ms`);
    await time.tickAsync(1);
    assert.equal(listener.accepts, accepts + 1, `not after ${pauseMs} ms`);
  }
}

test("serveEcho() backs off while out of descriptors instead of spinning, then serves again, and starts the back-off over", async () => {
  using time = new FakeTime();
  using _now = stub(performance, "now", () => time.now);
  const { listener, log, stop } = serve();
  for (let i = 0; i < 3; i++) {
    listener.fail(osError("EMFILE", "Too many open files (os error 24)"));
  }
  await log.waitFor("accept failed");
  await assertPauses(time, listener, [10, 20, 40]);
  await assertEchoes(listener.connect(1), "descriptors are back");
  // After a good accept a shortage starts over at 10 ms; ENFILE, the
  // system's table full, backs off as EMFILE does.
  for (let i = 0; i < 2; i++) {
    listener.fail(
      osError("ENFILE", "Too many open files in system (os error 23)"),
    );
  }
  await time.runMicrotasks();
  await assertPauses(time, listener, [10, 20]);
  await assertEchoes(listener.connect(2), "the system's are back");
  assert.deepEqual(log.lines.filter((line) => line.startsWith("warning")), [
    'warning: accept failed error="Too many open files (os error 24)"',
  ]);
  await stop();
});

test("serveEcho() on close() stops at once during a back-off, the fake clock standing still", async () => {
  using time = new FakeTime();
  using _now = stub(performance, "now", () => time.now);
  const { listener, log, stop } = serve();
  listener.fail(
    osError("ENFILE", "Too many open files in system (os error 23)"),
  );
  await log.waitFor("accept failed");
  await withinTimeLimit(stop(), 1_000, "stop during the back-off");
  assert.equal(listener.closed, true);
  assert.equal(listener.accepts, 1);
});

test("serveEcho() below info level builds no log fields for a connection that ends normally", async () => {
  const lines: string[] = [];
  const logger = new Logger("warning", { write: (line) => lines.push(line) });
  const { listener, stop } = serve({ logger, maxConnections: 1 });
  const reads = { remoteAddr: 0 };
  const quiet = listener.connect(1, { reads });
  await assertEchoes(quiet, "hello");
  const overLimit = listener.connect(2, { reads });
  await overLimit.read(new Uint8Array(1)); // closed at once
  quiet.closeWrite();
  await stop();
  assert.equal(reads.remoteAddr, 0);
  assert.deepEqual(lines, [
    "warning: connection limit reached max_connections=1",
  ]);
});

test("serveEcho() echoes messages larger than its 64-byte first read without Nagle's wait for an acknowledgement", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const server = serveEcho(listener, {
    timeouts,
    maxConnections: 10,
    logger: new LineCapture().logger,
    metrics: createMetrics().echo,
  });
  const client = await connect(listener.addr);
  const message = new Uint8Array(1_000).fill(7);
  const started = performance.now();
  // Each message is read 64 bytes, then the rest, and written back so: with
  // Nagle's algorithm the second write waits for the client's delayed
  // acknowledgement, 40 ms each time.
  for (let i = 0; i < 10; i++) {
    await writeAll(client, message);
    await readExactly(client, message.length);
  }
  const elapsedMs = performance.now() - started;
  client.close();
  await server.close();
  assert.ok(elapsedMs < 200, `10 echoes took ${elapsedMs.toFixed(0)} ms`);
});
