import assert from "node:assert/strict";
import fc from "fast-check";
import { handleEchoConnection } from "../src/echo/echo.ts";
import type { EchoStream } from "../src/echo/echo_stream.ts";
import { ReadBufferPool } from "../src/net/read_buffers.ts";
import { bytes } from "./_echo_client.ts";
import { FakeTime } from "./_fake_time.ts";
import { type MemoryStream, memoryStreamPair } from "./_memory_stream.ts";
import { readExactly } from "./_read.ts";
import { settlement } from "./_settlement.ts";
import { stub } from "./_stub.ts";
import { test } from "./_time_limit.ts";

const timeouts = { initialMs: 5_000, refreshMs: 30_000 };

/** Lets every pending promise job run, on a real timer. */
function jobsRun(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

test("handleEchoConnection() echoes each chunk back unchanged", async () => {
  const [server, client] = memoryStreamPair();
  const served = handleEchoConnection(server, { timeouts });
  for (const text of ["hey there", "\n", "again"]) {
    await client.write(bytes(text));
    assert.deepEqual(await readExactly(client, text.length), bytes(text));
  }
  client.closeWrite();
  assert.deepEqual(await served, { reason: "closed", bytesEchoed: 15 });
  assert.equal(await client.read(new Uint8Array(1)), null);
});

test("handleEchoConnection() echoes any bytes in order, buffered or lockstep", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.uint8Array({ minLength: 1, maxLength: 5_000 }), {
        maxLength: 8,
      }),
      fc.boolean(),
      async (chunks, lockstep) => {
        const [server, client] = memoryStreamPair({ lockstep });
        const served = handleEchoConnection(server, { timeouts });
        const sent = new Uint8Array(chunks.flatMap((chunk) => [...chunk]));
        const [echoed] = await Promise.all([
          readExactly(client, sent.length),
          (async () => {
            for (const chunk of chunks) await client.write(chunk);
            client.closeWrite();
          })(),
        ]);
        assert.deepEqual(echoed, sent);
        assert.deepEqual(await served, {
          reason: "closed",
          bytesEchoed: sent.length,
        });
      },
    ),
    { numRuns: 50 },
  );
});

test("handleEchoConnection() over a lockstep stream writes each chunk before reading the next", async () => {
  using time = new FakeTime();
  using _now = stub(performance, "now", () => time.now);
  const [server, client] = memoryStreamPair({ lockstep: true });
  const served = handleEchoConnection(server, { timeouts });
  // A lockstep write returns only once the server has read it all; the server
  // then blocks writing the echo until this client reads it.
  await client.write(bytes("first"));
  const second = client.write(bytes("second"));
  const secondRead = settlement(second, time);
  await time.tickAsync(1_000);
  await time.runMicrotasks();
  assert.equal(secondRead.at, undefined, "read again before echoing");
  assert.deepEqual(await readExactly(client, 5), bytes("first"));
  await second;
  assert.equal(secondRead.at, 1_000);
  assert.deepEqual(await readExactly(client, 6), bytes("second"));
  client.closeWrite();
  assert.deepEqual(await served, { reason: "closed", bytesEchoed: 11 });
});

/** `stream`, with every buffer the server reads into recorded, in order. */
function recordingReads(stream: MemoryStream) {
  const buffers: Uint8Array[] = [];
  const recorded: EchoStream = {
    read(buffer) {
      buffers.push(buffer);
      return stream.read(buffer);
    },
    write: (data) => stream.write(data),
    close: () => stream.close(),
  };
  return { recorded, buffers };
}

/** Writes `size` bytes at once and reads them all back. */
async function echoBurst(client: MemoryStream, size: number): Promise<void> {
  const burst = new Uint8Array(size).fill(7);
  await client.write(burst);
  assert.deepEqual(await readExactly(client, size), burst);
  await jobsRun(); // the server is back waiting to read
}

test("handleEchoConnection() reads into 64 bytes, 1 KiB, then 64 KiB while reads fill them, and waits on 64 bytes again", async () => {
  const [server, client] = memoryStreamPair();
  const { recorded, buffers } = recordingReads(server);
  const served = handleEchoConnection(recorded, { timeouts });
  await client.write(bytes("x"));
  await readExactly(client, 1);
  await echoBurst(client, 64 * 1024);
  // 64 + 1,024 bytes fill the first two; the 64 KiB read gets the other
  // 64,448, short, so the read that waits for more is on 64 bytes again.
  assert.deepEqual(buffers.map((buffer) => buffer.length), [
    64,
    64,
    1024,
    65_536,
    64,
  ]);
  assert.equal(buffers.at(-1)!.buffer, buffers[0].buffer, "not its own");
  client.closeWrite();
  await served;
});

test("handleEchoConnection() reads a steady stream into one buffer, and the next burst into the same", async () => {
  const [server, client] = memoryStreamPair();
  const { recorded, buffers } = recordingReads(server);
  const served = handleEchoConnection(recorded, { timeouts });
  await echoBurst(client, 1 << 20);
  await echoBurst(client, 1 << 20);
  client.closeWrite();
  await served;
  const large = buffers.filter((buffer) => buffer.length === 65_536);
  // 15 full reads and a short one per MiB, after 64 bytes and 1 KiB.
  assert.equal(large.length, 32);
  assert.equal(new Set(large.map((buffer) => buffer.buffer)).size, 1);
});

test("handleEchoConnection() gives a borrowed buffer back to its pool however it ends", async () => {
  const ends = {
    closed: (client: MemoryStream) => client.closeWrite(),
    reset: (client: MemoryStream) => client.reset(),
    shutdown: (_: MemoryStream, shutdown: AbortController) => shutdown.abort(),
  };
  for (const [reason, end] of Object.entries(ends)) {
    const pool = new ReadBufferPool();
    const shutdown = new AbortController();
    const [server, client] = memoryStreamPair();
    const { recorded, buffers } = recordingReads(server);
    const served = handleEchoConnection(recorded, {
      timeouts,
      signal: shutdown.signal,
      readBuffers: pool,
    });
    // 64 + 1,024 bytes fill both reads exactly: the read that waits for more
    // is on a borrowed 64 KiB, until the client sends again or leaves.
    await echoBurst(client, 64 + 1024);
    const waiting = buffers.at(-1)!;
    assert.equal(waiting.length, 65_536);
    end(client, shutdown);
    assert.equal((await served).reason, reason);
    assert.equal(pool.take(65_536), waiting, `not given back once ${reason}`);
  }
});

test("handleEchoConnection() drops a silent client exactly at the initial timeout", async () => {
  using time = new FakeTime();
  using _now = stub(performance, "now", () => time.now);
  const [server, client] = memoryStreamPair();
  const served = handleEchoConnection(server, { timeouts });
  const ended = settlement(served, time);
  await time.tickAsync(timeouts.initialMs - 1);
  await time.tickAsync(1);
  await time.runMicrotasks();
  assert.equal(ended.at, timeouts.initialMs);
  assert.deepEqual(await served, { reason: "idle", bytesEchoed: 0 });
  assert.equal(await client.read(new Uint8Array(1)), null);
});

test("handleEchoConnection() moves the deadline to each chunk's arrival plus the refresh timeout", async () => {
  using time = new FakeTime();
  using _now = stub(performance, "now", () => time.now);
  const [server, client] = memoryStreamPair();
  const served = handleEchoConnection(server, { timeouts });
  const ended = settlement(served, time);
  await time.tickAsync(4_000);
  await client.write(bytes("a"));
  await readExactly(client, 1);
  await time.tickAsync(timeouts.refreshMs - 1);
  await time.tickAsync(1);
  await time.runMicrotasks();
  assert.equal(ended.at, 4_000 + timeouts.refreshMs);
  assert.deepEqual(await served, { reason: "idle", bytesEchoed: 1 });
});

test("handleEchoConnection() with a refresh shorter than the initial timeout closes at the earlier deadline", async () => {
  using time = new FakeTime();
  using _now = stub(performance, "now", () => time.now);
  const [server, client] = memoryStreamPair();
  const served = handleEchoConnection(server, {
    timeouts: { initialMs: 10_000, refreshMs: 1_000 },
  });
  const ended = settlement(served, time);
  await client.write(bytes("a"));
  await readExactly(client, 1);
  await time.tickAsync(999);
  await time.tickAsync(1);
  await time.runMicrotasks();
  assert.equal(ended.at, 1_000);
  assert.deepEqual(await served, { reason: "idle", bytesEchoed: 1 });
});

test("handleEchoConnection() does not move the deadline for its own writes", async () => {
  using time = new FakeTime();
  using _now = stub(performance, "now", () => time.now);
  const [server, client] = memoryStreamPair({ lockstep: true });
  const served = handleEchoConnection(server, { timeouts });
  const ended = settlement(served, time);
  await client.write(bytes("slow reader"));
  // The echo is written only as this client reads it, just before the deadline.
  await time.tickAsync(timeouts.refreshMs - 1);
  assert.deepEqual(await readExactly(client, 11), bytes("slow reader"));
  await time.tickAsync(1);
  await time.runMicrotasks();
  assert.equal(ended.at, timeouts.refreshMs);
  assert.deepEqual(await served, { reason: "idle", bytesEchoed: 11 });
});

test("handleEchoConnection() drops a client that never reads its echo at the deadline", async () => {
  using time = new FakeTime();
  using _now = stub(performance, "now", () => time.now);
  const [server, client] = memoryStreamPair({ lockstep: true });
  const served = handleEchoConnection(server, { timeouts });
  const ended = settlement(served, time);
  await client.write(bytes("never read"));
  await time.tickAsync(timeouts.refreshMs - 1);
  await time.tickAsync(1);
  await time.runMicrotasks();
  assert.equal(ended.at, timeouts.refreshMs);
  assert.deepEqual(await served, { reason: "idle", bytesEchoed: 0 });
});

test("handleEchoConnection() closes at the last chunk plus refresh, for any timeouts and gaps", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 10_000 }),
      fc.integer({ min: 1, max: 60_000 }),
      fc.array(fc.integer({ min: 0, max: 70_000 }), { maxLength: 8 }),
      async (initialMs, refreshMs, gaps) => {
        using time = new FakeTime();
        using _now = stub(performance, "now", () => time.now);
        const [server, client] = memoryStreamPair();
        const served = handleEchoConnection(server, {
          timeouts: { initialMs, refreshMs },
        });
        const ended = settlement(served, time);
        const elapsed = () => time.now - time.start;

        // The model: where the deadline is after each chunk that makes it in time.
        let deadline = initialMs;
        let echoed = 0;
        for (const gap of gaps) {
          if (elapsed() + gap >= deadline) break;
          await time.tickAsync(gap);
          await client.write(bytes("."));
          await readExactly(client, 1);
          echoed++;
          deadline = elapsed() + refreshMs;
        }
        await time.tickAsync(deadline - elapsed() - 1);
        await time.tickAsync(1);
        await time.runMicrotasks();
        assert.equal(ended.at, deadline);
        assert.deepEqual(await served, { reason: "idle", bytesEchoed: echoed });
      },
    ),
    { numRuns: 200 },
  );
});

test("handleEchoConnection() on shutdown closes a connection waiting to read at once", async () => {
  using time = new FakeTime();
  using _now = stub(performance, "now", () => time.now);
  const shutdown = new AbortController();
  const [server, client] = memoryStreamPair();
  const served = handleEchoConnection(server, {
    timeouts,
    signal: shutdown.signal,
  });
  const ended = settlement(served, time);
  await client.write(bytes("hi"));
  await readExactly(client, 2);
  await time.runMicrotasks(); // the server is back waiting to read
  shutdown.abort();
  await time.runMicrotasks();
  assert.equal(ended.at, 0);
  assert.deepEqual(await served, { reason: "shutdown", bytesEchoed: 2 });
  assert.equal(await client.read(new Uint8Array(1)), null);
});

test("handleEchoConnection() on shutdown finishes writing the chunk it has read", async () => {
  using time = new FakeTime();
  using _now = stub(performance, "now", () => time.now);
  const shutdown = new AbortController();
  const [server, client] = memoryStreamPair({ lockstep: true });
  const served = handleEchoConnection(server, {
    timeouts,
    signal: shutdown.signal,
  });
  await client.write(bytes("in flight"));
  // One byte back means the server is writing, and blocked on this reader.
  assert.deepEqual(await readExactly(client, 1), bytes("i"));
  const ended = settlement(served, time);
  shutdown.abort();
  await time.tickAsync(999); // within the drain's second
  await time.runMicrotasks();
  assert.equal(ended.at, undefined, "closed before the chunk was out");
  assert.deepEqual(await readExactly(client, 8), bytes("n flight"));
  assert.deepEqual(await served, { reason: "shutdown", bytesEchoed: 9 });
  assert.equal(ended.at, 999);
  assert.equal(await client.read(new Uint8Array(1)), null);
});

test("handleEchoConnection() with the signal already aborted reads nothing", async () => {
  const [server, client] = memoryStreamPair();
  await client.write(bytes("too late"));
  const served = handleEchoConnection(server, {
    timeouts,
    signal: AbortSignal.abort(),
  });
  assert.deepEqual(await served, { reason: "shutdown", bytesEchoed: 0 });
  assert.equal(await client.read(new Uint8Array(1)), null);
});

test("handleEchoConnection() ends a reset connection as reset, with the error, and closes the stream", async () => {
  const [server, client] = memoryStreamPair();
  const served = handleEchoConnection(server, { timeouts });
  await client.write(bytes("x"));
  await readExactly(client, 1);
  const reset = new Deno.errors.ConnectionReset("connection reset");
  client.reset(reset);
  assert.deepEqual(await served, {
    reason: "reset",
    bytesEchoed: 1,
    error: reset,
  });
  await assert.rejects(client.write(bytes("x")), Deno.errors.BrokenPipe);
});

test("handleEchoConnection() ends a TLS stream closed without close_notify as closed, with no error", async () => {
  const [server, client] = memoryStreamPair();
  const served = handleEchoConnection(server, { timeouts });
  await client.write(bytes("bye"));
  await readExactly(client, 3);
  // What Deno 2.9 raises when a TLS client closes without close_notify.
  client.reset(
    new Deno.errors.UnexpectedEof(
      "peer closed connection without sending TLS close_notify: https://docs.rs/rustls/latest/rustls/manual/_03_howto/index.html#unexpected-eof",
    ),
  );
  assert.deepEqual(await served, { reason: "closed", bytesEchoed: 3 });
});

test("handleEchoConnection() ends on any other stream error as error", async () => {
  const [server, client] = memoryStreamPair();
  const served = handleEchoConnection(server, { timeouts });
  const error = new Deno.errors.InvalidData("bad frame");
  client.reset(error);
  assert.deepEqual(await served, { reason: "error", bytesEchoed: 0, error });
});

test("handleEchoConnection() counts each chunk's bytes once it is echoed, not before", async () => {
  const [server, client] = memoryStreamPair({ lockstep: true });
  const counted: number[] = [];
  const served = handleEchoConnection(server, {
    timeouts,
    bytesCounter: { inc: (bytes) => counted.push(bytes) },
  });
  for (const text of ["one", "three"]) {
    await client.write(bytes(text));
    // The server has read the chunk and is blocked writing it back.
    assert.deepEqual(await readExactly(client, 1), bytes(text[0]));
    assert.deepEqual(counted, text === "one" ? [] : [3], "counted unwritten");
    await readExactly(client, text.length - 1);
  }
  client.closeWrite();
  assert.deepEqual(await served, { reason: "closed", bytesEchoed: 8 });
  assert.deepEqual(counted, [3, 5]);
});

test("handleEchoConnection() on shutdown closes a client that will not read after 1 s by default", async () => {
  using time = new FakeTime();
  using _now = stub(performance, "now", () => time.now);
  const shutdown = new AbortController();
  const [server, client] = memoryStreamPair({ lockstep: true });
  const served = handleEchoConnection(server, {
    timeouts,
    signal: shutdown.signal,
  });
  const ended = settlement(served, time);
  await client.write(bytes("never read"));
  shutdown.abort();
  await time.tickAsync(999);
  await time.tickAsync(1);
  await time.runMicrotasks();
  assert.equal(ended.at, 1_000);
  assert.deepEqual(await served, { reason: "shutdown", bytesEchoed: 0 });
});

test("handleEchoConnection() on shutdown keeps an idle deadline sooner than drainMs", async () => {
  using time = new FakeTime();
  using _now = stub(performance, "now", () => time.now);
  const shutdown = new AbortController();
  const [server, client] = memoryStreamPair({ lockstep: true });
  const served = handleEchoConnection(server, {
    timeouts: { initialMs: 5_000, refreshMs: 500 },
    signal: shutdown.signal,
    drainMs: 1_000,
  });
  const ended = settlement(served, time);
  await client.write(bytes("never read"));
  shutdown.abort();
  await time.tickAsync(499);
  await time.tickAsync(1);
  await time.runMicrotasks();
  assert.equal(ended.at, 500);
  assert.deepEqual(await served, { reason: "shutdown", bytesEchoed: 0 });
});
