/**
 * The HTTP port's deadlines and limit over real sockets, on the fake clock:
 * an idle or kept-alive connection, a trickled head and a slow body are cut
 * when the README says, a client over the limit is closed at once, and a
 * response that says it closes the connection does.
 */
import assert from "node:assert/strict";
import { HttpConnections } from "../src/http/http_connections.ts";
import { closingResponse } from "../src/http/handler.ts";
import { serveHttp } from "../src/http/serve_http.ts";
import { createMetrics } from "../src/metrics.ts";
import { bytes, connect } from "./_echo_client.ts";
import { FakeTime } from "./_fake_time.ts";
import { LineCapture } from "./_line_capture.ts";
import { parseMetrics } from "./_metrics_text.ts";
import { settlement } from "./_settlement.ts";
import { stub } from "./_stub.ts";
import { test, withinTimeLimit } from "./_time_limit.ts";

/** The defaults: `--http-idle-timeout 5`, `--http-request-timeout 10`. */
const timeouts = { idleMs: 5_000, requestMs: 10_000 };

/**
 * Routes of the server inside: a plain answer, a closing one, and a body
 * read, which says so in `log` as it begins.
 */
function routes(log: LineCapture) {
  return (request: Request): Response | Promise<Response> => {
    const path = new URL(request.url).pathname;
    if (path === "/refused") return closingResponse(400, "bad host header");
    if (path === "/body") {
      log.add("body read");
      return request.text().then((text) => new Response(text));
    }
    return new Response("ok");
  };
}

/** serveHttp() on loopback; stopped when disposed. */
function serve(maxConnections = 512) {
  const log = new LineCapture();
  const metrics = createMetrics();
  const http = serveHttp({ hostname: "127.0.0.1", port: 0 }, routes(log), {
    logger: log.logger,
    metrics: metrics.http,
    maxConnections,
    timeouts,
  });
  return {
    port: http.addr.port,
    log,
    /** The value of each HTTP connection sample, by name. */
    async samples(): Promise<Map<string, number>> {
      return parseMetrics(await metrics.text.read());
    },
    [Symbol.asyncDispose]: () => http.close(),
  };
}

/** Reads one response, or the rest up to the server's close: the text. */
async function readResponse(conn: Deno.Conn): Promise<string> {
  const buffer = new Uint8Array(4096);
  const decoder = new TextDecoder();
  let text = "";
  while (true) {
    const size = await conn.read(buffer).catch(() => null);
    if (size === null) return text;
    text += decoder.decode(buffer.subarray(0, size));
    const [head, body] = text.split("\r\n\r\n", 2);
    const length = head.match(/\r\ncontent-length: (\d+)/i)?.[1];
    if (body !== undefined && body.length >= Number(length ?? 0)) return text;
  }
}

/** Settles once the server has closed `conn`, reading what it sent. */
async function closedByServer(conn: Deno.Conn): Promise<void> {
  const buffer = new Uint8Array(4096);
  while (await conn.read(buffer).catch(() => null) !== null);
}

const GET = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";

/** The HTTP port's connections, at the default limit and deadlines. */
function httpConnections(
  signal: AbortSignal,
  log = new LineCapture(),
  metrics = createMetrics(),
): HttpConnections {
  return new HttpConnections({
    signal,
    logger: log.logger,
    metrics: metrics.http,
    maxConnections: 512,
    timeouts,
  });
}

/** Lets real I/O run a few turns, the fake clock standing still. */
async function settle(time: FakeTime): Promise<void> {
  for (let i = 0; i < 3; i++) await time.runMicrotasks();
}

test("an HTTP connection that sends nothing is closed at 5 s, not before, and counted as idle", async () => {
  using time = new FakeTime();
  using _now = stub(performance, "now", () => time.now);
  await using server = serve();
  using silent = await connect(server.port);
  await settle(time);
  const closed = settlement(closedByServer(silent), time);
  await time.tickAsync(4_999);
  await settle(time);
  assert.equal(closed.at, undefined);
  await time.tickAsync(1);
  await closedByServer(silent);
  assert.equal(closed.at, 5_000);
  const samples = await server.samples();
  assert.equal(
    samples.get('echoserver_http_connections_ended_total{reason="idle"}'),
    1,
  );
  assert.equal(samples.get("echoserver_http_connections_open"), 0);
});

test("a kept-alive HTTP connection is closed 5 s after its last response", async () => {
  using time = new FakeTime();
  using _now = stub(performance, "now", () => time.now);
  await using server = serve();
  using conn = await connect(server.port);
  await conn.write(bytes(GET));
  assert.match(await readResponse(conn), /^HTTP\/1\.1 200 /);
  await time.tickAsync(4_000);
  await conn.write(bytes(GET));
  assert.match(await readResponse(conn), /^HTTP\/1\.1 200 /);
  const closed = settlement(closedByServer(conn), time);
  await time.tickAsync(4_999);
  await settle(time);
  assert.equal(closed.at, undefined);
  await time.tickAsync(1);
  await closedByServer(conn);
  assert.equal(closed.at, 9_000);
});

test("an HTTP head trickled a byte a second is cut 10 s after its first byte, and counted as request_timeout", async () => {
  using time = new FakeTime();
  using _now = stub(performance, "now", () => time.now);
  await using server = serve();
  using conn = await connect(server.port);
  await time.tickAsync(2_000);
  const closed = settlement(closedByServer(conn), time);
  // A byte a second from 2 s on: none moves the deadline from 12 s.
  const head = bytes("GET / HTTP/1.1\r\nX-a: " + "a".repeat(20));
  for (let i = 0; i < 10; i++) {
    await conn.write(head.subarray(i, i + 1));
    await settle(time);
    await time.tickAsync(i === 9 ? 999 : 1_000);
  }
  await settle(time);
  assert.equal(closed.at, undefined);
  await time.tickAsync(1);
  await closedByServer(conn);
  assert.equal(closed.at, 12_000);
  const samples = await server.samples();
  assert.equal(
    samples.get(
      'echoserver_http_connections_ended_total{reason="request_timeout"}',
    ),
    1,
  );
});

test("an HTTP body sent slowly is cut 10 s after the first byte of its request", async () => {
  using time = new FakeTime();
  using _now = stub(performance, "now", () => time.now);
  await using server = serve();
  using conn = await connect(server.port);
  await conn.write(
    bytes("POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n"),
  );
  await settle(time);
  const closed = settlement(closedByServer(conn), time);
  for (let second = 0; second < 9; second++) {
    await time.tickAsync(1_000);
    await conn.write(bytes("a"));
    await settle(time);
  }
  await time.tickAsync(999);
  await settle(time);
  assert.equal(closed.at, undefined);
  await time.tickAsync(1);
  await closedByServer(conn);
  assert.equal(closed.at, 10_000);
});

/** A request whose body never comes: its handler stays in flight. */
const SLOW_BODY =
  "POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\na";

/** Accepted = rejected + open + every end: each connection counted once. */
function assertEachCountedOnce(samples: Map<string, number>): void {
  const ended = [...samples].filter(([name]) =>
    name.startsWith("echoserver_http_connections_ended_total")
  ).reduce((sum, [, value]) => sum + value, 0);
  assert.equal(
    samples.get("echoserver_http_connections_accepted_total"),
    samples.get("echoserver_http_connections_rejected_total")! +
      samples.get("echoserver_http_connections_open")! + ended,
  );
}

test("at --http-max-connections a new client takes the place of the one longest with no request in flight, kept-alive or silent", async () => {
  await using server = serve(2);
  using silent = await connect(server.port);
  using keptAlive = await connect(server.port);
  await keptAlive.write(bytes(GET));
  assert.match(await readResponse(keptAlive), /^HTTP\/1\.1 200 /);
  // Full: the silent one has waited longest, the other since its response.
  using third = await connect(server.port);
  await third.write(bytes(GET));
  assert.match(await readResponse(third), /^HTTP\/1\.1 200 /);
  await closedByServer(silent);
  // Full again: the kept-alive one has been idle longest.
  using fourth = await connect(server.port);
  await fourth.write(bytes(GET));
  assert.match(await readResponse(fourth), /^HTTP\/1\.1 200 /);
  await closedByServer(keptAlive);
  await third.write(bytes(GET));
  assert.match(await readResponse(third), /^HTTP\/1\.1 200 /);
  const samples = await server.samples();
  assert.equal(samples.get("echoserver_http_connections_evicted_total"), 2);
  assert.equal(samples.get("echoserver_http_connections_rejected_total"), 0);
  assert.equal(
    samples.get('echoserver_http_connections_ended_total{reason="idle"}'),
    2,
  );
  assertEachCountedOnce(samples);
  assert.deepEqual(server.log.lines, []);
});

test("an HTTP client over --http-max-connections, every one with a request in flight, is closed at once, counted, and logged once a second; the next is served once a slot frees", async () => {
  await using server = serve(2);
  using first = await connect(server.port);
  using second = await connect(server.port);
  for (const conn of [first, second]) await conn.write(bytes(SLOW_BODY));
  await server.log.waitFor("body read");
  await server.log.waitFor("body read", 2);
  for (let i = 0; i < 3; i++) {
    using over = await connect(server.port);
    await over.write(bytes(GET)).catch(() => {});
    assert.equal(await readResponse(over), "");
  }
  assert.deepEqual(
    server.log.lines.filter((line) => line.startsWith("warning")),
    [
      "warning: http connection limit reached max_connections=2",
    ],
  );
  assert.equal(
    (await server.samples()).get("echoserver_http_connections_evicted_total"),
    0,
  );
  first.close();
  // Once its relay has closed, or its request is over, a slot is free:
  // closed at once until then.
  let status = "";
  let refused = 0;
  while (!status.startsWith("HTTP/1.1 200") && refused < 50) {
    using next = await connect(server.port);
    await next.write(bytes(GET)).catch(() => {});
    status = await readResponse(next);
    if (status === "") refused++;
  }
  assert.match(status, /^HTTP\/1\.1 200 /);
  const samples = await server.samples();
  assert.equal(
    samples.get("echoserver_http_connections_rejected_total"),
    3 + refused,
  );
  assertEachCountedOnce(samples);
});

test("a response that says Connection: close closes its connection: what the client sends next gets nothing", async () => {
  // On a clock that stands still: no deadline can be what closes it.
  using time = new FakeTime();
  using _now = stub(performance, "now", () => time.now);
  await using server = serve();
  using conn = await connect(server.port);
  await conn.write(bytes("GET /refused HTTP/1.1\r\nHost: x\r\n\r\n"));
  const refused = await readResponse(conn);
  assert.match(refused, /^HTTP\/1\.1 400 /);
  assert.equal(refused.match(/\r\nconnection: close\r\n/gi)?.length, 1);
  await conn.write(bytes(GET)).catch(() => {});
  assert.equal(await readResponse(conn), "");
});

test("a closing response is sent with Connection: close once, when the request asked for it too", async () => {
  await using server = serve();
  using conn = await connect(server.port);
  await conn.write(
    bytes("GET /refused HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
  );
  const refused = await readResponse(conn);
  assert.match(refused, /^HTTP\/1\.1 400 /);
  assert.equal(refused.match(/\r\nconnection: close\r\n/gi)?.length, 1);
});

test("requests pipelined behind a closing response get 503, unrouted, and the connection closes", async () => {
  await using server = serve();
  using conn = await connect(server.port);
  await conn.write(bytes(
    "GET /refused HTTP/1.1\r\nHost: x\r\n\r\n" + GET + GET,
  ));
  let text = "";
  const buffer = new Uint8Array(4096);
  for (let size; (size = await conn.read(buffer)) !== null;) {
    text += new TextDecoder().decode(buffer.subarray(0, size));
  }
  const statuses = [...text.matchAll(/^HTTP\/1\.1 (\d{3}) /gm)].map((
    [, status],
  ) => status);
  assert.equal(statuses[0], "400");
  assert.ok(statuses.slice(1).every((status) => status === "503"), text);
});

test("the server inside answers 403 to a request that did not come through a relay", async () => {
  const shutdown = new AbortController();
  const connections = httpConnections(shutdown.signal);
  const response = await connections.handler(routes(new LineCapture()))(
    new Request("http://x/"),
    {
      remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 1 },
      completed: Promise.resolve(),
    },
  );
  assert.equal(response.status, 403);
  assert.equal(await response.text(), "forbidden");
});

test("an HTTP client whose relay cannot connect is closed, and the failure is counted by its code", async () => {
  const shutdown = new AbortController();
  const log = new LineCapture();
  const metrics = createMetrics();
  const connections = httpConnections(shutdown.signal, log, metrics);
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const refused = Object.assign(new Error("Connection refused"), {
    code: "ECONNREFUSED",
  });
  const served = connections.serve(listener, () => Promise.reject(refused));
  using client = await connect(listener.addr);
  await closedByServer(client);
  assert.equal(
    await log.waitFor("http accept failed"),
    'warning: http accept failed error="Connection refused"',
  );
  shutdown.abort();
  await served;
  const samples = parseMetrics(await metrics.text.read());
  assert.equal(
    samples.get('echoserver_http_accept_errors_total{code="ECONNREFUSED"}'),
    1,
  );
  assert.equal(samples.get("echoserver_http_connections_accepted_total"), 0);
});

test("the HTTP port backs off 10 ms, then 20 ms, while descriptors run out, and starts over after a good accept", async () => {
  using time = new FakeTime();
  using _now = stub(performance, "now", () => time.now);
  const shutdown = new AbortController();
  const connections = httpConnections(shutdown.signal);
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  using inner = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  // Each client's relay connects inside: out of descriptors, but the third.
  const works = [false, false, true, false, false];
  const connectedAt: number[] = [];
  const served = connections.serve(listener, () => {
    connectedAt.push(time.now - time.start);
    if (works.shift()) return connect(inner.addr);
    return Promise.reject(
      Object.assign(new Error("Too many open files (os error 24)"), {
        code: "EMFILE",
      }),
    );
  });
  const clients = [];
  for (let i = 0; i < 5; i++) clients.push(await connect(listener.addr));
  /** Lets real I/O run, the clock still, until `count` relays have tried. */
  const tried = async (count: number) => {
    for (let i = 0; i < 20 && connectedAt.length < count; i++) {
      await time.runMicrotasks();
    }
    return connectedAt.length;
  };
  assert.equal(await tried(1), 1);
  await time.tickAsync(9);
  assert.equal(await tried(2), 1, "tried again within 10 ms");
  await time.tickAsync(1);
  assert.equal(await tried(2), 2);
  await time.tickAsync(19);
  assert.equal(await tried(3), 2, "tried again within 20 ms");
  await time.tickAsync(1);
  // The third works, and the fourth comes straight after it, and fails.
  assert.equal(await tried(4), 4);
  await time.tickAsync(9);
  assert.equal(await tried(5), 4, "did not start over at 10 ms");
  await time.tickAsync(1);
  assert.equal(await tried(5), 5);
  assert.deepEqual(connectedAt, [0, 10, 30, 30, 40]);

  shutdown.abort();
  await served;
  const closed = connections.closeAll(0);
  await time.tickAsync(0);
  await withinTimeLimit(closed, 2_000, "every relay closed");
  for (const client of clients) client.close();
});
