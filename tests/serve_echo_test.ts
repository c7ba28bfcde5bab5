import assert from "node:assert/strict";
import {
  type EchoConn,
  type EchoListener,
  serveEcho,
} from "../src/serve_echo.ts";
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

async function assertEchoes(client: MemoryStream, text: string): Promise<void> {
  await client.write(bytes(text));
  assert.deepEqual(await readExactly(client, text.length), bytes(text));
}

Deno.test("serveEcho() takes a failed accept as one client's and goes on", async () => {
  const shutdown = new AbortController();
  const log = new LineCapture();
  const listener = new ScriptedListener();
  const served = serveEcho(listener, {
    timeouts,
    signal: shutdown.signal,
    logger: log.logger,
  });
  listener.fail(
    new Error("Transport endpoint is not connected (os error 107)"),
  );
  await log.waitFor("accept: Transport endpoint is not connected");
  await assertEchoes(listener.connect(1), "still serving");
  assert.equal(listener.closed, false);
  shutdown.abort();
  await served;
});

Deno.test("serveEcho() keeps a client's fault from touching other clients", async () => {
  const shutdown = new AbortController();
  const log = new LineCapture();
  const listener = new ScriptedListener();
  const served = serveEcho(listener, {
    timeouts,
    signal: shutdown.signal,
    logger: log.logger,
  });
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
  shutdown.abort();
  await served;
});

Deno.test("serveEcho() logs each client's start and end at debug level", async () => {
  const shutdown = new AbortController();
  const log = new LineCapture();
  const listener = new ScriptedListener();
  const served = serveEcho(listener, {
    timeouts,
    signal: shutdown.signal,
    logger: log.logger,
  });
  const client = listener.connect(5555);
  await assertEchoes(client, "hello");
  client.closeWrite();
  await log.waitFor("client 1: closed");
  shutdown.abort();
  await served;
  assert.deepEqual(log.lines, [
    "debug: client 1: connected from 192.0.2.1:5555",
    "debug: client 1: closed after 5 bytes",
  ]);
});

Deno.test("serveEcho() on abort closes the listener and ends once its connections have", async () => {
  const shutdown = new AbortController();
  const log = new LineCapture();
  const listener = new ScriptedListener();
  const served = serveEcho(listener, {
    timeouts,
    signal: shutdown.signal,
    logger: log.logger,
  });
  const clients = [listener.connect(1), listener.connect(2)];
  for (const client of clients) await assertEchoes(client, "open");
  shutdown.abort();
  await served;
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
  const listener = new ScriptedListener();
  const log = new LineCapture();
  await serveEcho(listener, {
    timeouts,
    signal: AbortSignal.abort(),
    logger: log.logger,
  });
  assert.equal(listener.closed, true);
  assert.deepEqual(log.lines, []);
});
