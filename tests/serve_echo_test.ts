import assert from "node:assert/strict";
import {
  type EchoConn,
  type EchoListener,
  serveEcho,
  type ServeEchoOptions,
} from "../src/serve_echo.ts";
import { FakeTime } from "./_fake_time.ts";
import { LineCapture } from "./_line_capture.ts";
import { type MemoryStream, memoryStreamPair } from "./_memory_stream.ts";
import { readExactly } from "./_read.ts";

const timeouts = { initialMs: 5_000, refreshMs: 30_000 };
const bytes = (text: string) => new TextEncoder().encode(text);

/** A listener whose clients and accept failures the test hands in, in order. */
class ScriptedListener implements EchoListener {
  #queue: (EchoConn | Error)[] = [];
  #waiting?: PromiseWithResolvers<EchoConn>;
  closed = false;
  /** How many times `accept` has been called. */
  accepts = 0;

  /** Makes a connected in-memory client; its server end goes to the next accept. */
  connect(port: number): MemoryStream {
    const [server, client] = memoryStreamPair();
    this.#push({
      ...server,
      remoteAddr: { transport: "tcp", hostname: "192.0.2.1", port },
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

/** Serves a {@linkcode ScriptedListener}; `stop` aborts and waits. */
function serve(options: Partial<ServeEchoOptions> = {}) {
  const listener = new ScriptedListener();
  const shutdown = new AbortController();
  const log = new LineCapture();
  const served = serveEcho(listener, {
    timeouts,
    maxConnections: 10_000,
    signal: shutdown.signal,
    logger: log.logger,
    ...options,
  });
  return {
    listener,
    log,
    served,
    async stop() {
      shutdown.abort();
      await served;
    },
  };
}

/** An accept failure as Deno reports it, with its errno name as `code`. */
function osError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

async function assertEchoes(client: MemoryStream, text: string): Promise<void> {
  await client.write(bytes(text));
  assert.deepEqual(await readExactly(client, text.length), bytes(text));
}

Deno.test("serveEcho() takes a failed accept as one client's and goes on", async () => {
  const { listener, log, stop } = serve();
  listener.fail(
    osError("ENOTCONN", "Transport endpoint is not connected (os error 107)"),
  );
  await log.waitFor("accept: Transport endpoint is not connected");
  await assertEchoes(listener.connect(1), "still serving");
  assert.equal(listener.closed, false);
  await stop();
});

Deno.test("serveEcho() keeps a client's fault from touching other clients", async () => {
  const { listener, log, stop } = serve();
  const faulty = listener.connect(1);
  const healthy = listener.connect(2);
  await assertEchoes(faulty, "one");
  await assertEchoes(healthy, "two");
  faulty.reset();
  assert.equal(
    await log.waitFor("warning"),
    "warning: client 1: connection reset",
  );
  await assertEchoes(healthy, "still two");
  await assertEchoes(listener.connect(3), "three");
  await stop();
});

Deno.test("serveEcho() logs each client's start and end at debug level", async () => {
  const { listener, log, stop } = serve();
  const client = listener.connect(5555);
  await assertEchoes(client, "hello");
  client.closeWrite();
  await log.waitFor("client 1: closed");
  await stop();
  assert.deepEqual(log.lines, [
    "debug: client 1: connected from 192.0.2.1:5555",
    "debug: client 1: closed after 5 bytes",
  ]);
});

Deno.test("serveEcho() on abort closes the listener and ends once its connections have", async () => {
  const { listener, log, stop } = serve();
  const clients = [listener.connect(1), listener.connect(2)];
  for (const client of clients) await assertEchoes(client, "open");
  await stop();
  assert.equal(listener.closed, true);
  for (const client of clients) {
    assert.equal(await client.read(new Uint8Array(1)), null);
  }
  assert.equal(
    log.lines.filter((line) => line.endsWith("shutdown after 4 bytes")).length,
    2,
  );
  assert.equal(log.lines.some((line) => line.startsWith("warning")), false);
});

Deno.test("serveEcho() with the signal already aborted closes the listener at once", async () => {
  const { listener, log, served } = serve({ signal: AbortSignal.abort() });
  await served;
  assert.equal(listener.closed, true);
  assert.deepEqual(log.lines, []);
});

Deno.test("serveEcho() closes a client over --max-connections at once and serves the next when a slot frees", async () => {
  const { listener, log, stop } = serve({ maxConnections: 2 });
  const first = listener.connect(1);
  const second = listener.connect(2);
  await assertEchoes(first, "one");
  await assertEchoes(second, "two");
  const third = listener.connect(3);
  assert.equal(await third.read(new Uint8Array(1)), null);
  assert.equal(
    await log.waitFor("warning"),
    "warning: closed a client from 192.0.2.1:3: 2 connections open, the most --max-connections allows",
  );
  first.closeWrite();
  await log.waitFor("client 1: closed");
  await assertEchoes(listener.connect(4), "four");
  await assertEchoes(second, "still two");
  await stop();
});

Deno.test("serveEcho() logs a flood of failures once a second, with a count", async () => {
  using time = new FakeTime();
  const { listener, log, stop } = serve({ maxConnections: 1 });
  await assertEchoes(listener.connect(1), "holding the only slot");
  const rejected = Array.from(
    { length: 5 },
    (_, i) => listener.connect(100 + i),
  );
  for (const client of rejected) {
    assert.equal(await client.read(new Uint8Array(1)), null);
  }
  await time.tickAsync(1_000);
  const last = listener.connect(200);
  assert.equal(await last.read(new Uint8Array(1)), null);
  assert.deepEqual(log.lines.filter((line) => line.startsWith("warning")), [
    "warning: closed a client from 192.0.2.1:100: 1 connections open, the most --max-connections allows",
    "warning: closed a client from 192.0.2.1:200: 1 connections open, the most --max-connections allows" +
    " (and 4 more like it since the last)",
  ]);
  await stop();
});

Deno.test("serveEcho() backs off while out of descriptors instead of spinning, then serves again", async () => {
  using time = new FakeTime();
  const { listener, log, stop } = serve();
  for (let i = 0; i < 3; i++) {
    listener.fail(osError("EMFILE", "Too many open files (os error 24)"));
  }
  await log.waitFor("accept: Too many open files");
  // Pauses of 10, 20 and 40 ms, and no accept before each is over.
  for (const [pauseMs, accepts] of [[10, 1], [20, 2], [40, 3]]) {
    await time.tickAsync(pauseMs - 1);
    assert.equal(listener.accepts, accepts, `accepted within ${pauseMs} ms`);
    await time.tickAsync(1);
    assert.equal(listener.accepts, accepts + 1);
  }
  await assertEchoes(listener.connect(1), "descriptors are back");
  assert.deepEqual(log.lines.filter((line) => line.startsWith("warning")), [
    "warning: accept: Too many open files (os error 24)",
  ]);
  await stop();
});

Deno.test("serveEcho() stops at once when aborted during a back-off", async () => {
  using _time = new FakeTime();
  const { listener, log, stop } = serve();
  listener.fail(
    osError("ENFILE", "Too many open files in system (os error 23)"),
  );
  await log.waitFor("accept: Too many open files in system");
  await stop();
  assert.equal(listener.closed, true);
});
