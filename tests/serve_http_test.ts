import assert from "node:assert/strict";
import { createMetrics } from "../src/observability/metrics.ts";
import { type Serve, serveHttp } from "../src/http/serve_http.ts";
import { LineCapture } from "./_line_capture.ts";
import { parseMetrics } from "./_metrics_text.ts";
import { FakeTime } from "./_fake_time.ts";
import { stub } from "./_stub.ts";
import { test } from "./_time_limit.ts";

/** A stand-in for one `Deno.serve` server, which a test stops or fails. */
function fakeServer(port: number, options: { closes?: boolean } = {}) {
  const finished = Promise.withResolvers<void>();
  let shutdowns = 0;
  const server: Deno.HttpServer<Deno.NetAddr> = {
    addr: { transport: "tcp", hostname: "127.0.0.1", port },
    finished: finished.promise,
    shutdown() {
      shutdowns++;
      if (options.closes === false) return new Promise(() => {});
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

/** A `serve` that hands out `results` in turn: a server, or an error to throw. */
function scriptedServe(results: (Deno.HttpServer<Deno.NetAddr> | Error)[]) {
  const calls: Deno.ServeTcpOptions[] = [];
  const allCalled = Promise.withResolvers<void>();
  const serve: Serve = (options) => {
    calls.push(options);
    const result = results.shift()!;
    if (results.length === 0) allCalled.resolve();
    if (result instanceof Error) throw result;
    return result;
  };
  return { serve, calls, allCalled: allCalled.promise };
}

function setUp(serve: Serve, drainMs?: number) {
  const shutdown = new AbortController();
  const log = new LineCapture();
  const metrics = createMetrics();
  const http = serveHttp({ hostname: "localhost", port: 0 }, () => {
    throw new Error("no request is served here");
  }, {
    signal: shutdown.signal,
    logger: log.logger,
    acceptErrors: metrics.http.acceptErrors,
    serve,
    drainMs,
  });
  return { shutdown, log, metrics, http };
}

const outOfDescriptors = () =>
  new Deno.errors.Http("Error: Too many open files (os error 24)");

test("serveHttp() listens again on the bound port after its accept fails, until it can", async () => {
  const first = fakeServer(4001);
  const third = fakeServer(4001);
  const inUse = Object.assign(new Deno.errors.AddrInUse("Address in use"), {
    code: "EADDRINUSE",
  });
  const { serve, calls, allCalled } = scriptedServe([
    first.server,
    inUse,
    third.server,
  ]);
  const { shutdown, log, metrics, http } = setUp(serve);
  assert.equal(http.addr.port, 4001);

  first.fail(outOfDescriptors());
  await allCalled;
  // Each attempt after the first goes to the address actually bound.
  assert.deepEqual(
    calls.map(({ hostname, port }) => [hostname, port]),
    [["localhost", 0], ["127.0.0.1", 4001], ["127.0.0.1", 4001]],
  );
  // One warning a second: the failed listen right after is held back.
  assert.deepEqual(log.lines, [
    'warning: http accept failed: listening again error="Error: Too many open files (os error 24)"',
  ]);
  const samples = parseMetrics(await metrics.registry.metrics());
  assert.equal(
    samples.get('echoserver_http_accept_errors_total{code="EMFILE"}'),
    1,
  );
  assert.equal(
    samples.get('echoserver_http_accept_errors_total{code="EADDRINUSE"}'),
    1,
  );

  shutdown.abort();
  assert.equal(await http.finished, true);
  assert.equal(third.shutdowns(), 1);
  assert.equal(first.shutdowns(), 0);
});

test("serveHttp() stops at once when aborted during the back-off", async () => {
  const first = fakeServer(4001);
  const { serve, calls } = scriptedServe([first.server]);
  const { shutdown, log, http } = setUp(serve);
  first.fail(outOfDescriptors());
  await log.waitFor("http accept failed");
  shutdown.abort();
  assert.equal(await http.finished, true);
  assert.equal(calls.length, 1);
  assert.equal(first.shutdowns(), 0);
});

test("serveHttp() leaves a server that has not closed by the drain deadline, and says so", async () => {
  const stuck = fakeServer(4001, { closes: false });
  const { serve } = scriptedServe([stuck.server]);
  const { shutdown, log, http } = setUp(serve, 20);
  shutdown.abort();
  assert.equal(await http.finished, false);
  assert.equal(stuck.shutdowns(), 1);
  assert.deepEqual(log.lines, [
    "warning: http clients still connected at the drain deadline: leaving them drain_ms=20",
  ]);
});

test("serveHttp() starts its back-off over once a server has served a while", async () => {
  using time = new FakeTime(0);
  using _now = stub(performance, "now", () => time.now);
  const [first, second, third, fourth] = [1, 2, 3, 4].map(() =>
    fakeServer(4001)
  );
  const { serve, calls } = scriptedServe([
    first.server,
    second.server,
    third.server,
    fourth.server,
  ]);
  const { shutdown, http } = setUp(serve);
  /** Fails `server`, then how long until the next one is started. */
  const nextStartAfter = async (server: ReturnType<typeof fakeServer>) => {
    const before = calls.length;
    server.fail(outOfDescriptors());
    const failedAt = time.now;
    while (calls.length === before) await time.tickAsync(1);
    return time.now - failedAt;
  };
  assert.equal(await nextStartAfter(first), 10);
  // The second fails at once: the pause doubles.
  assert.equal(await nextStartAfter(second), 20);
  // The third serves for a second before it fails: back to 10 ms.
  await time.tickAsync(1_000);
  assert.equal(await nextStartAfter(third), 10);
  shutdown.abort();
  assert.equal(await http.finished, true);
});
