import assert from "node:assert/strict";
import { ListenError, type RunningServer, startServer } from "../src/server.ts";
import { assertEchoes, bytes, connect } from "./_echo_client.ts";
import { FakeTime } from "./_fake_time.ts";
import { LineCapture } from "./_line_capture.ts";
import { parseMetrics } from "./_metrics_text.ts";
import { readStatus } from "./_http_raw.ts";
import { readExactly } from "./_read.ts";
import { stub } from "./_stub.ts";
import { loopbackConfig } from "./_loopback_config.ts";
import { test } from "./_time_limit.ts";

const timeouts = { initialMs: 5_000, refreshMs: 30_000 };

/** Starts the service on free loopback ports; stops it when disposed. */
function serve(draining?: AbortSignal): RunningServer & {
  shutdown: AbortController;
  log: LineCapture;
  httpUrl: string;
  [Symbol.asyncDispose](): Promise<void>;
} {
  const shutdown = new AbortController();
  const log = new LineCapture();
  const server = startServer(loopbackConfig(), {
    shutdown,
    draining,
    logger: log.logger,
  });
  return {
    ...server,
    shutdown,
    log,
    httpUrl: `http://127.0.0.1:${server.httpAddr.port}`,
    async [Symbol.asyncDispose]() {
      shutdown.abort("test over");
      await server.finished;
    },
  };
}

function randomBytes(size: number): Uint8Array {
  const data = new Uint8Array(size);
  for (let offset = 0; offset < size; offset += 65_536) {
    crypto.getRandomValues(data.subarray(offset, offset + 65_536));
  }
  return data;
}

test("startServer() echoes over TCP and answers the health check", async () => {
  await using server = serve();
  using conn = await connect(server.echoAddr);
  await assertEchoes(conn, bytes("hey there\n"));
  const response = await fetch(`${server.httpUrl}/healthcheck`);
  assert.equal(await response.text(), "ok computer");
});

test("startServer() echoes 1 MiB of binary data unchanged", async () => {
  await using server = serve();
  using conn = await connect(server.echoAddr);
  await assertEchoes(conn, randomBytes(1 << 20));
});

test("startServer() serves 100 concurrent clients, each its own bytes", async () => {
  await using server = serve();
  const conns = await Promise.all(
    Array.from({ length: 100 }, () => connect(server.echoAddr)),
  );
  try {
    await Promise.all(
      conns.map((conn, i) =>
        assertEchoes(conn, bytes(`client ${i} `.repeat(i + 1)))
      ),
    );
  } finally {
    for (const conn of conns) conn.close();
  }
});

test("startServer() keeps serving after a client resets its connection", async () => {
  await using server = serve();
  const resetter = await connect(server.echoAddr);
  await resetter.write(randomBytes(256 * 1024));
  // Close with echoed bytes still unread: the kernel answers with a reset.
  await readExactly(resetter, 1);
  resetter.close();
  assert.match(
    await server.log.waitFor("connection ended"),
    /client=1 .*reason=reset .*error="(Connection reset|Broken pipe)/,
  );
  using next = await connect(server.echoAddr);
  await assertEchoes(next, bytes("after the reset"));
});

test("startServer() keeps serving after a client disconnects", async () => {
  await using server = serve();
  (await connect(server.echoAddr)).close();
  await server.log.waitFor("client=1 remote=127.0.0.1:");
  await server.log.waitFor("reason=closed bytes=0 ");
  using next = await connect(server.echoAddr);
  await assertEchoes(next, bytes("after the disconnect"));
});

test("POST /die answers bye bye, then closes both listeners and open echo connections", async () => {
  const server = serve();
  using conn = await connect(server.echoAddr);
  await assertEchoes(conn, bytes("before"));
  const response = await fetch(`${server.httpUrl}/die`, { method: "POST" });
  assert.equal(await response.text(), "bye bye");
  await server.finished;
  assert.equal(server.shutdown.signal.reason, "POST /die");
  assert.equal(await conn.read(new Uint8Array(1)), null);
  await assert.rejects(
    connect(server.echoAddr),
    Deno.errors.ConnectionRefused,
  );
  await assert.rejects(fetch(`${server.httpUrl}/healthcheck`), TypeError);
  assert.ok(
    server.log.lines.includes('info: shutting down reason="POST /die"'),
  );
});

test("startServer() drops idle clients on the fake clock, over real sockets", async () => {
  using time = new FakeTime();
  using _now = stub(performance, "now", () => time.now);
  await using server = serve();
  using silent = await connect(server.echoAddr);
  await server.log.waitFor("connection opened client=1 ");
  await time.tickAsync(timeouts.initialMs - 1);
  using chatty = await connect(server.echoAddr);
  await assertEchoes(chatty, bytes("refresh"));
  assert.equal(server.log.lines.some((line) => line.includes("idle")), false);

  await time.tickAsync(1);
  assert.equal(await silent.read(new Uint8Array(1)), null);
  assert.match(
    await server.log.waitFor("connection ended"),
    /client=1 .*reason=idle bytes=0 duration_ms=5000$/,
  );

  await time.tickAsync(timeouts.refreshMs - 2);
  assert.equal(
    server.log.lines.some((line) => line.includes("ended client=2")),
    false,
  );
  await time.tickAsync(1);
  assert.equal(await chatty.read(new Uint8Array(1)), null);
  assert.match(
    await server.log.waitFor("connection ended", 2),
    /client=2 .*reason=idle bytes=7 duration_ms=30000$/,
  );
});

Deno.test("startServer() names the address in use and leaves nothing open", () => {
  using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = taken.addr;
  const shutdown = new AbortController();
  for (const ports of [{ echo: port, http: 0 }, { echo: 0, http: port }]) {
    assert.throws(
      () =>
        startServer(
          loopbackConfig({
            echo: { hostname: "127.0.0.1", port: ports.echo },
            http: { hostname: "127.0.0.1", port: ports.http },
          }),
          { shutdown },
        ),
      (error) =>
        error instanceof ListenError &&
        error.message.startsWith(`cannot listen on 127.0.0.1:${port}: `) &&
        error.cause instanceof Deno.errors.AddrInUse,
    );
  }
});

test("startServer() with the signal already aborted stops at once", async () => {
  const shutdown = new AbortController();
  shutdown.abort("before start");
  const log = new LineCapture();
  const server = startServer(loopbackConfig(), {
    shutdown,
    logger: log.logger,
  });
  await server.finished;
  assert.deepEqual(log.lines, [
    'info: shutting down reason="before start"',
  ]);
});

test("GET /metrics reads back exact counts of known echo and HTTP traffic", async () => {
  using time = new FakeTime();
  using _now = stub(performance, "now", () => time.now);
  await using server = serve();
  const closing = await connect(server.echoAddr);
  await assertEchoes(closing, bytes("0123456789"));
  await assertEchoes(closing, bytes("01234"));
  closing.close();
  using idle = await connect(server.echoAddr);
  using open = await connect(server.echoAddr);
  await assertEchoes(open, bytes("abc"));
  await server.log.waitFor("connection ended");
  await time.tickAsync(timeouts.initialMs);
  assert.equal(await idle.read(new Uint8Array(1)), null);
  for (
    const [method, path] of [
      ["GET", "/healthcheck"],
      ["GET", "/healthcheck"],
      ["HEAD", "/livez"],
      ["GET", "/readyz"],
      ["GET", "/nowhere"],
      ["GET", "/die"],
    ]
  ) {
    await (await fetch(`${server.httpUrl}${path}`, { method })).body?.cancel();
  }

  const response = await fetch(`${server.httpUrl}/metrics`);
  assert.match(response.headers.get("content-type")!, /^text\/plain/);
  const samples = parseMetrics(await response.text());
  const expected: Record<string, number> = {
    "echoserver_echo_connections_open": 1,
    "echoserver_echo_connections_accepted_total": 3,
    "echoserver_echo_connections_rejected_total": 0,
    'echoserver_echo_connections_ended_total{reason="closed"}': 1,
    'echoserver_echo_connections_ended_total{reason="idle"}': 1,
    "echoserver_echo_bytes_total": 18,
    "echoserver_echo_connection_duration_seconds_count": 2,
    'echoserver_http_requests_total{route="/healthcheck",status="200"}': 2,
    'echoserver_http_requests_total{route="/livez",status="200"}': 1,
    'echoserver_http_requests_total{route="/readyz",status="200"}': 1,
    'echoserver_http_requests_total{route="other",status="404"}': 1,
    'echoserver_http_requests_total{route="/die",status="405"}': 1,
  };
  for (const [name, value] of Object.entries(expected)) {
    assert.equal(samples.get(name), value, name);
  }
  assert.ok(samples.get("process_resident_memory_bytes")! > 0);
  assert.ok(samples.get("process_cpu_seconds_total")! > 0);
});

test("startServer() once draining answers /readyz with 503 and serves everything else", async () => {
  const draining = new AbortController();
  await using server = serve(draining.signal);
  const status = async (path: string, method = "GET") => {
    const response = await fetch(`${server.httpUrl}${path}`, { method });
    await response.body?.cancel();
    return response.status;
  };
  assert.equal(await status("/readyz"), 200);
  draining.abort("SIGTERM");
  assert.equal(await status("/readyz"), 503);
  assert.equal(await status("/readyz", "HEAD"), 503);
  assert.equal(await status("/livez"), 200);
  assert.equal(await status("/healthcheck"), 200);
  using conn = await connect(server.echoAddr);
  await assertEchoes(conn, bytes("still echoing"));
});

test("POST /die with a malformed chunked body gets 400, counted as 400, and stops nothing", async () => {
  await using server = serve();
  using conn = await connect(server.httpAddr);
  await conn.write(bytes(
    "POST /die HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n" +
      "Expect: 100-continue\r\n\r\n",
  ));
  // Once Deno says continue, /die reads the body as it comes.
  assert.equal(await readStatus(conn), 100);
  await conn.write(bytes("3\r\nabc\r\nnot a chunk size\r\n"));
  assert.equal(await readStatus(conn), 400);
  const metrics = parseMetrics(
    await (await fetch(`${server.httpUrl}/metrics`)).text(),
  );
  const requests = [...metrics].filter(([key]) => key.includes("route="));
  assert.deepEqual(requests, [
    ['echoserver_http_requests_total{route="/die",status="400"}', 1],
  ]);
  assert.equal(server.shutdown.signal.aborted, false);
});
