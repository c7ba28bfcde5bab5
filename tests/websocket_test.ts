import assert from "node:assert/strict";
import type { Config } from "../src/settings/config.ts";
import { startServer } from "../src/server.ts";
import { CERTIFICATE } from "./_certificates.ts";
import { bytes, connect, writeAll } from "./_echo_client.ts";
import { LineCapture } from "./_line_capture.ts";
import { loopbackConfig } from "./_loopback_config.ts";
import { parseMetrics } from "./_metrics_text.ts";
import { readExactly } from "./_read.ts";
import { test } from "./_time_limit.ts";
import {
  clientFrame,
  closeCode,
  concat,
  HANDSHAKE,
  OPCODES,
  readResponseHead,
  readServerFrame,
} from "./_websocket_frames.ts";

/** The service in this process, with `overrides`; it shuts down when disposed. */
function service(overrides: Partial<Config> = {}) {
  const shutdown = new AbortController();
  const log = new LineCapture();
  const server = startServer(loopbackConfig(overrides), {
    shutdown,
    logger: log.logger,
  });
  const port = server.httpAddr.port;
  return {
    server,
    shutdown,
    log,
    port,
    url: `ws://127.0.0.1:${port}/ws`,
    async metrics(): Promise<Map<string, number>> {
      const response = await fetch(`http://127.0.0.1:${port}/metrics`);
      return parseMetrics(await response.text());
    },
    async [Symbol.asyncDispose]() {
      shutdown.abort("test over");
      await server.finished;
    },
  };
}

/** A WebSocket client of Deno's, open, with every message it gets queued. */
async function openClient(url: string) {
  const socket = new WebSocket(url);
  socket.binaryType = "arraybuffer";
  const messages: (string | ArrayBuffer)[] = [];
  let waiting: (() => void) | undefined;
  socket.onmessage = (event) => {
    messages.push(event.data);
    waiting?.();
  };
  const closed = new Promise<CloseEvent>((resolve) =>
    socket.addEventListener("close", resolve)
  );
  await new Promise((resolve, reject) => {
    socket.onopen = resolve;
    socket.onerror = (event) => reject((event as ErrorEvent).message);
  });
  return {
    socket,
    closed,
    async next(): Promise<string | ArrayBuffer> {
      while (messages.length === 0) {
        await new Promise<void>((resolve) => waiting = resolve);
      }
      return messages.shift()!;
    },
  };
}

/** A raw client that has sent the handshake: the connection and the answer's status. */
async function rawHandshake(
  port: number,
  behind: Uint8Array = new Uint8Array(),
) {
  const conn = await connect(port);
  await writeAll(conn, concat(bytes(HANDSHAKE), behind));
  const { status } = await readResponseHead(conn);
  return { conn, status };
}

test("GET /ws echoes every message, text as text and binary as binary, and /metrics counts them", async () => {
  await using s = service();
  const client = await openClient(s.url);
  client.socket.send("hello");
  assert.equal(await client.next(), "hello");
  client.socket.send(Uint8Array.of(0, 1, 2, 255));
  assert.deepEqual(
    new Uint8Array(await client.next() as ArrayBuffer),
    Uint8Array.of(0, 1, 2, 255),
  );
  client.socket.send("");
  assert.equal(await client.next(), "");
  const open = await s.metrics();
  assert.equal(open.get("echoserver_websocket_connections_open"), 1);
  assert.equal(open.get("echoserver_websocket_connections_accepted_total"), 1);
  assert.equal(open.get("echoserver_websocket_messages_total"), 3);
  assert.equal(open.get("echoserver_websocket_bytes_total"), 9);
  assert.equal(
    open.get('echoserver_http_connections_ended_total{reason="upgraded"}'),
    1,
  );
  client.socket.close(1000);
  assert.equal((await client.closed).code, 1000);
  await s.log.waitFor("websocket ended");
  const ended = await s.metrics();
  assert.equal(ended.get("echoserver_websocket_connections_open"), 0);
  assert.equal(
    ended.get('echoserver_websocket_connections_ended_total{reason="closed"}'),
    1,
  );
  assert.match(
    s.log.lines.find((line) => line.includes("websocket ended"))!,
    /^info: websocket ended client=1 remote=127\.0\.0\.1:\d+ reason=closed messages=3 bytes=9 duration_ms=\d+$/,
  );
});

test("GET /ws takes an Upgrade: WebSocket in any case, and offers no subprotocol", async () => {
  await using s = service();
  const { conn, status } = await rawHandshake(s.port);
  conn.close();
  assert.equal(status, 101);
  const upper = await connect(s.port);
  await writeAll(
    upper,
    bytes(HANDSHAKE.replace("Upgrade: websocket", "Upgrade: WebSocket")),
  );
  const answer = await readResponseHead(upper);
  upper.close();
  assert.equal(answer.status, 101);
  assert.doesNotMatch(answer.head, /sec-websocket-protocol/i);
});

test("GET /ws that is no handshake gets 426 naming websocket, or 400; POST and HEAD /ws 405", async () => {
  await using s = service();
  const plain = await fetch(`http://127.0.0.1:${s.port}/ws`);
  assert.equal(plain.status, 426);
  assert.equal(plain.headers.get("upgrade"), "websocket");
  await plain.body?.cancel();
  for (
    const [from, to] of [
      ["Connection: Upgrade\r\n", "Connection: keep-alive\r\n"],
      ["Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", ""],
      ["GET", "HEAD"],
    ]
  ) {
    const conn = await connect(s.port);
    await writeAll(conn, bytes(HANDSHAKE.replace(from, to)));
    const { status } = await readResponseHead(conn);
    conn.close();
    assert.equal(status, to === "HEAD" ? 405 : 400, to);
  }
  const posted = await fetch(`http://127.0.0.1:${s.port}/ws`, {
    method: "POST",
  });
  assert.equal(posted.status, 405);
  assert.equal(posted.headers.get("allow"), "GET");
  await posted.body?.cancel();
});

test("GET /ws refuses a handshake with bytes sent behind it, or not first on its connection, with 400", async () => {
  await using s = service();
  const early = await rawHandshake(s.port, clientFrame("text", bytes("hi")));
  early.conn.close();
  assert.equal(early.status, 400);
  const conn = await connect(s.port);
  await writeAll(conn, bytes("GET /livez HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  assert.equal((await readResponseHead(conn)).status, 200);
  assert.deepEqual(await readExactly(conn, 2), bytes("ok"));
  await writeAll(conn, bytes(HANDSHAKE));
  assert.equal((await readResponseHead(conn)).status, 400);
  conn.close();
  const metrics = await s.metrics();
  assert.equal(
    metrics.get("echoserver_websocket_connections_accepted_total"),
    0,
  );
});

test("a handshake over --ws-max-connections gets 503 and its connection closed; a WebSocket that ends makes room", async () => {
  await using s = service({ wsMaxConnections: 1 });
  const first = await openClient(s.url);
  const refused = await rawHandshake(s.port);
  assert.equal(refused.status, 503);
  assert.equal(
    await new Response(refused.conn.readable).text(),
    "too many WebSockets open",
  );
  first.socket.close();
  await first.closed;
  await s.log.waitFor("websocket ended");
  const second = await openClient(s.url);
  second.socket.close();
  await second.closed;
  const metrics = await s.metrics();
  assert.equal(
    metrics.get("echoserver_websocket_connections_accepted_total"),
    3,
  );
  assert.equal(
    metrics.get("echoserver_websocket_connections_rejected_total"),
    1,
  );
  assert.ok(s.log.lines.includes(
    "warning: websocket connection limit reached max_connections=1",
  ));
});

test("a message over --ws-max-message closes with 1009 once the messages before it are echoed, before its payload is read", async () => {
  await using s = service({ wsMaxMessageBytes: 1_024 });
  const { conn, status } = await rawHandshake(s.port);
  assert.equal(status, 101);
  // A message of exactly the limit, then the header of one a byte over,
  // whose payload never comes: the close cannot wait for it.
  await writeAll(
    conn,
    concat(
      clientFrame("binary", 1_024),
      clientFrame("text", 1_025, { headerOnly: true }),
    ),
  );
  const echoed = await readServerFrame(conn);
  assert.equal(echoed.opcode, OPCODES.binary);
  assert.equal(echoed.payload.length, 1_024);
  assert.deepEqual(closeCode(await readServerFrame(conn)), [
    1009,
    "message too big",
  ]);
  conn.close();
  await s.log.waitFor("websocket ended");
  const metrics = await s.metrics();
  assert.equal(
    metrics.get(
      'echoserver_websocket_connections_ended_total{reason="too_big"}',
    ),
    1,
  );
});

test("a message over --ws-max-message from Deno's client closes it with 1009 too", async () => {
  await using s = service({ wsMaxMessageBytes: 100 });
  const client = await openClient(s.url);
  client.socket.send("x".repeat(100));
  assert.equal(await client.next(), "x".repeat(100));
  client.socket.send("x".repeat(101));
  const { code, reason } = await client.closed;
  assert.deepEqual([code, reason], [1009, "message too big"]);
});

test("a WebSocket outlives the HTTP port's deadlines, is not evicted by HTTP clients at --http-max-connections, and leaves room for them", async () => {
  await using s = service({
    httpTimeouts: { idleMs: 100, requestMs: 150 },
    httpMaxConnections: 1,
  });
  const client = await openClient(s.url);
  // The WebSocket does not count against the HTTP limit of 1.
  const first = await fetch(`http://127.0.0.1:${s.port}/livez`);
  assert.equal(await first.text(), "ok");
  // Past both HTTP deadlines, a message in between.
  await new Promise((resolve) => setTimeout(resolve, 120));
  client.socket.send("still");
  assert.equal(await client.next(), "still");
  await new Promise((resolve) => setTimeout(resolve, 200));
  // A silent HTTP client takes the one HTTP place; the next takes it from
  // the silent one, not from the WebSocket.
  const silent = await connect(s.port);
  const probe = await fetch(`http://127.0.0.1:${s.port}/livez`);
  assert.equal(await probe.text(), "ok");
  assert.equal(await silent.read(new Uint8Array(1)), null);
  silent.close();
  client.socket.send("here");
  assert.equal(await client.next(), "here");
  const metrics = await s.metrics();
  assert.equal(metrics.get("echoserver_http_connections_evicted_total"), 1);
  assert.equal(metrics.get("echoserver_websocket_connections_open"), 1);
  client.socket.close();
  await client.closed;
});

test("at shutdown each WebSocket gets 1001 from Deno.serve's shutdown, and the service stops at once when the clients answer", async () => {
  const s = service();
  const clients = await Promise.all([openClient(s.url), openClient(s.url)]);
  const started = performance.now();
  s.shutdown.abort("test");
  for (const client of clients) {
    const { code, reason } = await client.closed;
    assert.deepEqual([code, reason], [1001, "Server shutting down"]);
  }
  await s.server.finished;
  const ms = performance.now() - started;
  assert.ok(ms < 500, `${ms} ms`);
  assert.equal(
    s.log.lines.filter((line) => line.includes("reason=shutdown")).length,
    2,
  );
});

test("at shutdown a WebSocket client that sends forever and never reads is cut after the 1 s drain", async () => {
  const s = service();
  const { conn, status } = await rawHandshake(s.port);
  assert.equal(status, 101);
  const frames = concat(
    ...Array.from({ length: 64 }, () => clientFrame("binary", 1_024)),
  );
  let stop = false;
  const sending = (async () => {
    try {
      while (!stop) await writeAll(conn, frames);
    } catch {
      // Cut by the service.
    }
  })();
  // Until its echoes pile up unread and the service stops reading it, so
  // that no close frame can reach it: the count of bytes echoed stands still.
  // (Bytes echoed alone say too little: loopback's socket buffers take
  // megabytes before they fill.)
  let echoed = 0;
  for (let last = -1; echoed !== last || echoed < 1 << 20;) {
    last = echoed;
    echoed = (await s.metrics()).get("echoserver_websocket_bytes_total")!;
  }
  const started = performance.now();
  s.shutdown.abort("test");
  await s.server.finished;
  const ms = performance.now() - started;
  stop = true;
  conn.close();
  await sending;
  assert.ok(ms >= 900 && ms < 1_900, `${ms} ms`);
});

test("a WebSocket client that never reads is read no more once its echoes wait: what it sends stalls, and the service holds little of it", async () => {
  await using s = service();
  const { conn, status } = await rawHandshake(s.port);
  assert.equal(status, 101);
  const frames = concat(
    ...Array.from({ length: 64 }, () => clientFrame("binary", 1_024)),
  );
  // 64 MiB: without the hold, the service takes it all within a second.
  let sent = 0;
  const sending = (async () => {
    try {
      for (; sent < 64 << 20; sent += frames.length) {
        await writeAll(conn, frames);
      }
    } catch {
      // Cut at shutdown.
    }
  })();
  const done = await Promise.race([
    sending.then(() => true),
    new Promise((resolve) => setTimeout(resolve, 1_500, false)),
  ]);
  assert.equal(done, false, `sent all ${sent} bytes`);
  const echoed = (await s.metrics()).get("echoserver_websocket_bytes_total")!;
  assert.ok(echoed < 32 << 20, `${echoed} bytes echoed`);
  conn.close();
  await sending;
});

test("over HTTPS a WebSocket echoes, and a message over --ws-max-message closes it with 1009, unechoed", async () => {
  await using s = service({
    tls: { cert: CERTIFICATE.cert, key: CERTIFICATE.key },
    wsMaxMessageBytes: 100,
  });
  const conn = await Deno.connectTls({
    hostname: "localhost",
    port: s.port,
    caCerts: [CERTIFICATE.cert],
  });
  await writeAll(conn, bytes(HANDSHAKE));
  assert.equal((await readResponseHead(conn)).status, 101);
  await writeAll(
    conn,
    concat(clientFrame("binary", 100), clientFrame("binary", 101)),
  );
  const echoed = await readServerFrame(conn);
  assert.equal(echoed.payload.length, 100);
  assert.deepEqual(closeCode(await readServerFrame(conn)), [
    1009,
    "message too big",
  ]);
  conn.close();
});

test("with --banner each WebSocket client gets the banner as its first text message, then its echoes", async () => {
  await using s = service({ banner: "served by pod-a" });
  const client = await openClient(s.url);
  client.socket.send("hello");
  assert.equal(await client.next(), "served by pod-a");
  assert.equal(await client.next(), "hello");
  client.socket.close();
  await client.closed;
});
