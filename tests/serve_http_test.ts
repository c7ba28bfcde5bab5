import assert from "node:assert/strict";
import { createMetrics } from "../src/metrics.ts";
import { type Serve, serveHttp } from "../src/http/serve_http.ts";
import { bytes, connect } from "./_echo_client.ts";
import { LineCapture } from "./_line_capture.ts";
import { parseMetrics } from "./_metrics_text.ts";
import { FakeTime } from "./_fake_time.ts";
import { settlement } from "./_settlement.ts";
import { stub } from "./_stub.ts";
import { test, withinTimeLimit } from "./_time_limit.ts";

/** A stand-in for one `Deno.serve` server, which a test fails. */
function fakeServer(port: number) {
  const finished = Promise.withResolvers<void>();
  let shutdowns = 0;
  const server: Deno.HttpServer<Deno.NetAddr> = {
    addr: { transport: "tcp", hostname: "127.0.0.1", port },
    finished: finished.promise,
    shutdown() {
      shutdowns++;
      finished.resolve();
      return finished.promise;
    },
    ref() {},
    unref() {},
    [Symbol.asyncDispose]() {
      return this.shutdown();
    },
  };
  return {
    server,
    /** Fails as Deno.serve does when its accept fails: it stops. */
    fail: (error: Error) => finished.reject(error),
    shutdowns: () => shutdowns,
  };
}

/**
 * A `serve` that hands out `results` in turn: a server, an error to throw,
 * or "real" for `Deno.serve` itself.
 */
function scriptedServe(
  results: (Deno.HttpServer<Deno.NetAddr> | Error | "real")[],
) {
  const calls: Deno.ServeTcpOptions[] = [];
  const allCalled = Promise.withResolvers<void>();
  const serve: Serve = (options, handler) => {
    calls.push(options);
    const result = results.shift()!;
    if (results.length === 0) allCalled.resolve();
    if (result instanceof Error) throw result;
    return result === "real" ? Deno.serve(options, handler) : result;
  };
  return { serve, calls, allCalled: allCalled.promise };
}

function setUp(
  serve: Serve,
  handler: Deno.ServeHandler<Deno.NetAddr> = () => new Response("served"),
) {
  const log = new LineCapture();
  const metrics = createMetrics();
  const http = serveHttp({ hostname: "127.0.0.1", port: 0 }, handler, {
    logger: log.logger,
    metrics: metrics.http,
    maxConnections: 512,
    timeouts: { idleMs: 5_000, requestMs: 10_000 },
    serve,
  });
  return { log, metrics, http };
}

const outOfDescriptors = () =>
  new Deno.errors.Http("Error: Too many open files (os error 24)");

test("serveHttp() starts the server inside again on a free loopback port after its accept fails, until it can, and serves through it", async () => {
  const first = fakeServer(1);
  const inUse = Object.assign(new Deno.errors.AddrInUse("Address in use"), {
    code: "EADDRINUSE",
  });
  const { serve, calls, allCalled } = scriptedServe([
    first.server,
    inUse,
    "real",
  ]);
  const { log, metrics, http } = setUp(serve);

  first.fail(outOfDescriptors());
  await allCalled;
  assert.deepEqual(
    calls.map(({ hostname, port }) => [hostname, port]),
    [["127.0.0.1", 0], ["127.0.0.1", 0], ["127.0.0.1", 0]],
  );
  // The public port never closed: the server started last answers through it.
  const response = await fetch(`http://127.0.0.1:${http.addr.port}/`);
  assert.equal(await response.text(), "served");
  // One warning a second: the failed start right after is held back.
  assert.deepEqual(log.lines, [
    'warning: http server failed: starting it again error="Error: Too many open files (os error 24)"',
  ]);
  const samples = parseMetrics(await metrics.text.read());
  assert.equal(
    samples.get('echoserver_http_accept_errors_total{code="EMFILE"}'),
    1,
  );
  assert.equal(
    samples.get('echoserver_http_accept_errors_total{code="EADDRINUSE"}'),
    1,
  );

  await http.close();
  assert.equal(first.shutdowns(), 0);
});

test("serveHttp() on close() stops at once during the back-off, the fake clock standing still", async () => {
  using time = new FakeTime();
  using _now = stub(performance, "now", () => time.now);
  const first = fakeServer(1);
  const { serve, calls } = scriptedServe([first.server]);
  const { log, http } = setUp(serve);
  first.fail(outOfDescriptors());
  await log.waitFor("http server failed");
  await time.tickAsync(5); // halfway through the first pause, 10 ms
  const closing = http.close();
  const finished = settlement(closing, time);
  await withinTimeLimit(closing, 2_000, "closed, the clock stopped");
  assert.equal(finished.at, 5);
  assert.equal(calls.length, 1);
  assert.equal(first.shutdowns(), 0);
});

test("serveHttp() starts its back-off over once a server has served a second, and not before", async () => {
  using time = new FakeTime(0);
  using _now = stub(performance, "now", () => time.now);
  const servers = [1, 2, 3, 4, 5].map((port) => fakeServer(port));
  const { serve, calls } = scriptedServe(servers.map(({ server }) => server));
  const { http } = setUp(serve);
  /** Fails `server`, then how long until the next one is started. */
  const nextStartAfter = async (server: ReturnType<typeof fakeServer>) => {
    const before = calls.length;
    server.fail(outOfDescriptors());
    const failedAt = time.now;
    while (calls.length === before) await time.tickAsync(1);
    return time.now - failedAt;
  };
  const [first, second, third, fourth, fifth] = servers;
  assert.equal(await nextStartAfter(first), 10);
  // The second fails at once: the pause doubles.
  assert.equal(await nextStartAfter(second), 20);
  // The third serves for 999 ms: not yet a second, so it doubles again.
  await time.tickAsync(999);
  assert.equal(await nextStartAfter(third), 40);
  // The fourth serves for a second before it fails: back to 10 ms.
  await time.tickAsync(1_000);
  assert.equal(await nextStartAfter(fourth), 10);
  await http.close();
  assert.equal(fifth.shutdowns(), 1);
});

test("serveHttp() on close() cuts a client still sending its body 1 s on, says so, and settles with the port closed", async () => {
  using time = new FakeTime();
  using _now = stub(performance, "now", () => time.now);
  const bodyRead = Promise.withResolvers<void>();
  const { log, http } = setUp(serve(), async (request) => {
    bodyRead.resolve();
    await request.text().catch(() => {});
    return new Response("read it");
  });
  using slow = await connect(http.addr.port);
  await slow.write(bytes(
    "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc",
  ));
  await bodyRead.promise;
  const closing = http.close();
  const finished = settlement(closing, time);
  await time.tickAsync(999);
  await time.runMicrotasks();
  assert.equal(finished.at, undefined);
  await time.tickAsync(1);
  await withinTimeLimit(closing, 2_000, "closed at the deadline");
  assert.equal(finished.at, 1_000);
  // Closed by the server, whatever it said first.
  assert.equal(await readToEnd(slow), true);
  assert.deepEqual(log.lines, [
    "warning: http connections still open at the drain deadline: closing them count=1 drain_ms=1000",
  ]);
  await assert.rejects(connect(http.addr.port), Deno.errors.ConnectionRefused);
});

/** Reads until the server closes `conn`: true then. */
async function readToEnd(conn: Deno.Conn): Promise<boolean> {
  const buffer = new Uint8Array(1024);
  while (await conn.read(buffer) !== null);
  return true;
}

/** `Deno.serve` itself, through the scripted stand-in's door. */
function serve(): Serve {
  return scriptedServe(["real"]).serve;
}

Deno.test("serveHttp() that cannot start the server inside throws, leaving no port open", () => {
  const { serve } = scriptedServe([new Deno.errors.PermissionDenied("no")]);
  assert.throws(
    () => setUp(serve),
    (error) => error instanceof Deno.errors.PermissionDenied,
  );
});
