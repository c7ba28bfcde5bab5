import assert from "node:assert/strict";
import fc from "fast-check";
import { Deadlines } from "../src/waiting/deadlines.ts";
import {
  type EchoSocket,
  type WebSocketEchoOptions,
  WebSocketEchoSession,
} from "../src/websocket/websocket_echo.ts";
import { FakeTime } from "./_fake_time.ts";
import { stub } from "./_stub.ts";

const timeouts = { initialMs: 5_000, refreshMs: 30_000 };

/**
 * A socket as `Deno.upgradeWebSocket` gives one, driven by the test: it
 * records what the session sends, its close, and whether it was cut.
 */
class FakeSocket extends EventTarget implements EchoSocket {
  bufferedAmount = 0;
  sent: (string | ArrayBuffer)[] = [];
  closedWith?: [number | undefined, string | undefined];
  /** When the session closed it or cut it, in fake ms since the start. */
  closedAt?: number;
  cutAt?: number;
  #time?: FakeTime;

  constructor(time?: FakeTime) {
    super();
    this.#time = time;
  }

  send(data: string | ArrayBuffer): void {
    this.sent.push(data);
  }

  close(code?: number, reason?: string): void {
    this.closedWith = [code, reason];
    this.closedAt = this.#now();
  }

  cut = (): void => {
    this.cutAt ??= this.#now();
  };

  open(): void {
    this.dispatchEvent(new Event("open"));
  }

  message(data: string | ArrayBuffer): void {
    this.dispatchEvent(new MessageEvent("message", { data }));
  }

  /** The close event, as the client's close or a broken connection brings. */
  closed(): void {
    this.dispatchEvent(new CloseEvent("close"));
  }

  #now(): number | undefined {
    return this.#time && this.#time.now - this.#time.start;
  }
}

/** A session over a new fake socket, with `options` over the defaults. */
function session(
  options: Partial<WebSocketEchoOptions> & { time?: FakeTime } = {},
) {
  const socket = new FakeSocket(options.time);
  const served = new WebSocketEchoSession(socket, {
    timeouts,
    deadlines: new Deadlines(),
    cut: socket.cut,
    ...options,
  });
  return { socket, served };
}

Deno.test("WebSocketEchoSession echoes each message as it came, text as text and binary as binary, and counts them", async () => {
  const counts = { messages: 0, bytes: 0 };
  const { socket, served } = session({
    counters: {
      messages: { inc: () => counts.messages++ },
      bytes: { inc: (bytes) => counts.bytes += bytes },
    },
  });
  socket.open();
  const binary = Uint8Array.of(0, 1, 255).buffer;
  for (const data of ["hi", binary, "", "é€😀"]) socket.message(data);
  assert.deepEqual(socket.sent, ["hi", binary, "", "é€😀"]);
  assert.equal(socket.sent[1], binary);
  socket.closed();
  // "é€😀" is 2 + 3 + 4 bytes in UTF-8.
  assert.deepEqual(await served.ended, {
    reason: "closed",
    messages: 4,
    bytes: 2 + 3 + 0 + 9,
  });
  assert.deepEqual(counts, { messages: 4, bytes: 14 });
  assert.equal(socket.closedWith, undefined);
});

Deno.test("WebSocketEchoSession counts text as its UTF-8 bytes, for any text", async () => {
  await fc.assert(
    fc.asyncProperty(fc.string({ unit: "grapheme" }), async (text) => {
      const { socket, served } = session();
      socket.open();
      socket.message(text);
      socket.closed();
      const { bytes } = await served.ended;
      assert.equal(bytes, new TextEncoder().encode(text).length);
    }),
  );
});

Deno.test("WebSocketEchoSession sends the banner first, as text, once open", () => {
  const { socket } = session({ banner: "served by pod-1" });
  assert.deepEqual(socket.sent, []);
  socket.open();
  socket.message("x");
  assert.deepEqual(socket.sent, ["served by pod-1", "x"]);
  socket.closed();
});

Deno.test("WebSocketEchoSession closes a client silent since it opened with 1000 exactly at the initial timeout, even with a banner sent", async () => {
  using time = new FakeTime();
  using _now = stub(performance, "now", () => time.now);
  const { socket, served } = session({ time, banner: "hello" });
  socket.open();
  await time.tickAsync(timeouts.initialMs - 1);
  assert.equal(socket.closedAt, undefined);
  await time.tickAsync(1);
  assert.equal(socket.closedAt, timeouts.initialMs);
  assert.deepEqual(socket.closedWith, [1000, "idle timeout"]);
  socket.closed();
  assert.equal((await served.ended).reason, "idle");
  assert.equal(socket.cutAt, undefined);
});

Deno.test("WebSocketEchoSession moves the deadline to each message's arrival plus the refresh timeout; its own sends never move it", async () => {
  using time = new FakeTime();
  using _now = stub(performance, "now", () => time.now);
  const { socket, served } = session({ time });
  socket.open();
  await time.tickAsync(4_000);
  socket.message("a");
  await time.tickAsync(timeouts.refreshMs - 1);
  assert.equal(socket.closedAt, undefined);
  await time.tickAsync(1);
  assert.equal(socket.closedAt, 4_000 + timeouts.refreshMs);
  socket.closed();
  assert.deepEqual(await served.ended, {
    reason: "idle",
    messages: 1,
    bytes: 1,
  });
});

Deno.test("WebSocketEchoSession with a refresh shorter than the initial timeout closes at the refresh after a message", async () => {
  using time = new FakeTime();
  using _now = stub(performance, "now", () => time.now);
  const { socket } = session({
    time,
    timeouts: { initialMs: 10_000, refreshMs: 1_000 },
  });
  socket.open();
  socket.message("a");
  await time.tickAsync(1_000);
  assert.equal(socket.closedAt, 1_000);
  socket.closed();
});

Deno.test("WebSocketEchoSession gives a client that does not answer its close 1 s, then cuts it", async () => {
  using time = new FakeTime();
  using _now = stub(performance, "now", () => time.now);
  const { socket, served } = session({ time });
  socket.open();
  await time.tickAsync(timeouts.initialMs + 999);
  assert.equal(socket.cutAt, undefined);
  await time.tickAsync(1);
  assert.equal(socket.cutAt, timeouts.initialMs + 1_000);
  socket.closed();
  assert.equal((await served.ended).reason, "idle");
});

Deno.test("WebSocketEchoSession at shutdown leaves the close to Deno.serve's shutdown, and cuts a client that does not answer after drainMs", async () => {
  using time = new FakeTime();
  using _now = stub(performance, "now", () => time.now);
  const shutdown = new AbortController();
  const { socket, served } = session({
    time,
    signal: shutdown.signal,
    drainMs: 250,
  });
  socket.open();
  socket.message("a");
  await time.tickAsync(100);
  shutdown.abort();
  assert.equal(socket.closedWith, undefined);
  await time.tickAsync(249);
  assert.equal(socket.cutAt, undefined);
  await time.tickAsync(1);
  assert.equal(socket.cutAt, 350);
  socket.closed();
  assert.deepEqual(await served.ended, {
    reason: "shutdown",
    messages: 1,
    bytes: 1,
  });
});

Deno.test("WebSocketEchoSession closed before it opened sends the close once open, with no banner", async () => {
  using time = new FakeTime();
  using _now = stub(performance, "now", () => time.now);
  const { socket, served } = session({ time, banner: "hello" });
  await time.tickAsync(timeouts.initialMs);
  assert.equal(socket.closedWith, undefined);
  socket.open();
  assert.deepEqual(socket.closedWith, [1000, "idle timeout"]);
  assert.deepEqual(socket.sent, []);
  socket.closed();
  assert.equal((await served.ended).reason, "idle");
});

Deno.test("WebSocketEchoSession opened after shutdown began sends nothing, and ends as shutdown", async () => {
  for (const abortFirst of [true, false]) {
    const shutdown = new AbortController();
    if (abortFirst) shutdown.abort();
    const { socket, served } = session({
      signal: shutdown.signal,
      banner: "hello",
    });
    shutdown.abort();
    socket.open();
    assert.deepEqual(socket.sent, []);
    assert.equal(socket.closedWith, undefined);
    socket.closed();
    assert.equal((await served.ended).reason, "shutdown");
  }
});

Deno.test("WebSocketEchoSession closes with 1009 once the messages before one too big are echoed", async () => {
  const { socket, served } = session();
  socket.open();
  socket.message("first");
  served.messageTooBig(3);
  assert.equal(socket.closedWith, undefined);
  socket.message("second");
  assert.equal(socket.closedWith, undefined);
  socket.message("third");
  assert.deepEqual(socket.closedWith, [1009, "message too big"]);
  assert.deepEqual(socket.sent, ["first", "second", "third"]);
  socket.closed();
  assert.deepEqual(await served.ended, {
    reason: "too_big",
    messages: 3,
    bytes: 16,
  });
});

Deno.test("WebSocketEchoSession closes with 1009 at once when every message before the one too big is echoed", () => {
  const { socket, served } = session();
  socket.open();
  socket.message("only");
  served.messageTooBig(1);
  assert.deepEqual(socket.closedWith, [1009, "message too big"]);
  socket.closed();
});

Deno.test("WebSocketEchoSession ends as error with the socket's message when the socket fails", async () => {
  const { socket, served } = session();
  socket.open();
  socket.dispatchEvent(
    new ErrorEvent("error", { message: "Invalid continuation frame" }),
  );
  socket.closed();
  assert.deepEqual(await served.ended, {
    reason: "error",
    messages: 0,
    bytes: 0,
    error: "Invalid continuation frame",
  });
});

Deno.test("WebSocketEchoSession ends when the upgrade fails before the socket opens, which no close follows", async () => {
  const { socket, served } = session();
  socket.dispatchEvent(new ErrorEvent("error", { message: "broken pipe" }));
  assert.equal((await served.ended).reason, "error");
});

Deno.test("WebSocketEchoSession with maxMessageBytes echoes a message of exactly that many bytes, and closes with 1009 for one more, unechoed", async () => {
  const { socket, served } = session({ maxMessageBytes: 4 });
  socket.open();
  socket.message("four");
  socket.message(new Uint8Array(4).buffer);
  socket.message("é€");
  assert.deepEqual(socket.closedWith, [1009, "message too big"]);
  assert.equal(socket.sent.length, 2);
  socket.closed();
  assert.deepEqual(await served.ended, {
    reason: "too_big",
    messages: 2,
    bytes: 8,
  });
});
