import assert from "node:assert/strict";
import {
  countRequests,
  createHttpApp,
  type HttpAppOptions,
  type HttpBindings,
  refuseOnceAborted,
} from "../src/http/http_app.ts";
import { closesConnection } from "../src/http/handler.ts";
import { createMetrics } from "../src/metrics.ts";
import { parseMetrics } from "./_metrics_text.ts";

/** Bindings whose `completed` settles when the test says the response is out. */
function pendingResponse(): HttpBindings & { send(): void } {
  const { promise, resolve } = Promise.withResolvers<void>();
  return { completed: promise, send: resolve };
}

const sent: HttpBindings = { completed: Promise.resolve() };

/** The app with metrics of its own and no `onDie` unless given. */
function appWith(options: Partial<HttpAppOptions> = {}) {
  return createHttpApp({
    onDie: () => {},
    metricsText: createMetrics().text,
    ...options,
  });
}

const app = appWith();

Deno.test("GET /healthcheck answers ok computer as plain text", async () => {
  const response = await app.request("/healthcheck", {}, sent);
  assert.equal(response.status, 200);
  assert.match(response.headers.get("content-type")!, /^text\/plain/);
  assert.equal(await response.text(), "ok computer");
});

Deno.test("HEAD answers 200 with no body wherever GET does", async () => {
  for (const path of ["/healthcheck", "/livez", "/readyz", "/metrics"]) {
    const response = await app.request(path, { method: "HEAD" }, sent);
    assert.equal(response.status, 200, path);
    assert.equal(response.body, null, path);
  }
});

Deno.test("GET /livez answers 200, draining or not", async () => {
  const app = appWith({ draining: AbortSignal.abort() });
  const response = await app.request("/livez", {}, sent);
  assert.equal(response.status, 200);
  assert.equal(await response.text(), "ok");
});

Deno.test("GET /readyz answers 200 until draining begins, then 503", async () => {
  const draining = new AbortController();
  const app = appWith({ draining: draining.signal });
  const ready = await app.request("/readyz", {}, sent);
  assert.equal(ready.status, 200);
  assert.equal(await ready.text(), "ready");
  draining.abort();
  const notReady = await app.request("/readyz", {}, sent);
  assert.equal(notReady.status, 503);
  assert.equal(await notReady.text(), "shutting down");
});

Deno.test("GET /metrics writes out the metrics in the Prometheus text format", async () => {
  const metrics = createMetrics();
  metrics.echo.bytesEchoed.inc(42);
  const app = appWith({ metricsText: metrics.text });
  const response = await app.request("/metrics", {}, sent);
  assert.equal(response.status, 200);
  assert.equal(
    response.headers.get("content-type"),
    "text/plain; version=0.0.4; charset=utf-8",
  );
  const samples = parseMetrics(await response.text());
  assert.equal(samples.get("echoserver_echo_bytes_total"), 42);
});

Deno.test("POST /die answers bye bye and calls onDie once the response is sent", async () => {
  let calls = 0;
  const app = appWith({ onDie: () => calls++ });
  const bindings = pendingResponse();
  const response = await app.request("/die", { method: "POST" }, bindings);
  assert.equal(response.status, 200);
  assert.equal(await response.text(), "bye bye");
  assert.equal(calls, 0, "shut down before the response was out");
  bindings.send();
  await bindings.completed;
  await Promise.resolve();
  assert.equal(calls, 1);
});

Deno.test("POST /die still calls onDie when the response could not be sent", async () => {
  let calls = 0;
  const app = appWith({ onDie: () => calls++ });
  const failed = Promise.reject(
    new Deno.errors.Interrupted("client went away"),
  );
  await app.request("/die", { method: "POST" }, { completed: failed });
  await failed.catch(() => {});
  await Promise.resolve();
  assert.equal(calls, 1);
});

Deno.test("a wrong method on a known path gets 405 with an Allow header", async () => {
  let calls = 0;
  const app = appWith({ onDie: () => calls++ });
  for (
    const [method, path, allow] of [
      ["POST", "/healthcheck", "GET, HEAD"],
      ["DELETE", "/healthcheck", "GET, HEAD"],
      ["POST", "/livez", "GET, HEAD"],
      ["PUT", "/readyz", "GET, HEAD"],
      ["POST", "/metrics", "GET, HEAD"],
      ["GET", "/die", "POST"],
      ["HEAD", "/die", "POST"],
      ["PUT", "/die", "POST"],
    ]
  ) {
    const response = await app.request(path, { method }, sent);
    assert.equal(response.status, 405, `${method} ${path}`);
    assert.equal(response.headers.get("allow"), allow);
    await response.body?.cancel();
  }
  assert.equal(calls, 0);
});

Deno.test("an unknown path gets 404", async () => {
  for (const path of ["/", "/health", "/healthcheck/x", "/DIE"]) {
    const response = await app.request(path, {}, sent);
    assert.equal(response.status, 404, path);
    assert.equal(await response.text(), "not found");
  }
});

Deno.test("with a die token, POST /die needs it as a bearer token", async () => {
  let calls = 0;
  const app = appWith({ onDie: () => calls++, dieToken: "open-sesame" });
  for (
    const [authorization, status] of [
      [undefined, 401],
      ["Bearer wrong-token", 401],
      ["Basic b3Blbi1zZXNhbWU=", 400],
      ["Bearer open-sesame", 200],
    ] as const
  ) {
    const headers = authorization ? { authorization } : undefined;
    const response = await app.request(
      "/die",
      { method: "POST", headers },
      sent,
    );
    assert.equal(response.status, status, authorization);
    await response.body?.cancel();
  }
  await Promise.resolve();
  assert.equal(calls, 1);
  const wrongMethod = await app.request("/die", {}, sent);
  assert.equal(wrongMethod.status, 405);
  await wrongMethod.body?.cancel();
});

Deno.test("a request body over 1 KiB gets 413 before anything reads it", async () => {
  let calls = 0;
  const app = appWith({ onDie: () => calls++ });
  const response = await app.request("/die", {
    method: "POST",
    headers: { "content-length": "1000000000" },
    body: "x",
  }, sent);
  assert.equal(response.status, 413);
  await response.body?.cancel();
  await Promise.resolve();
  assert.equal(calls, 0);
});

Deno.test("POST /die takes a body of exactly 1 KiB and refuses 1,025 bytes with 413, by Content-Length or chunked", async () => {
  const bodies = {
    "Content-Length": (size: number): RequestInit => ({
      method: "POST",
      headers: { "content-length": `${size}` },
      body: "x".repeat(size),
    }),
    chunked: (size: number): RequestInit => ({
      method: "POST",
      body: ReadableStream.from([
        new Uint8Array(size - 1),
        new Uint8Array(1),
      ]),
      duplex: "half",
    } as RequestInit),
  };
  for (const [shape, body] of Object.entries(bodies)) {
    const taken = await app.request("/die", body(1024), sent);
    assert.equal(taken.status, 200, `${shape}: 1,024 bytes`);
    assert.equal(await taken.text(), "bye bye");
    const refused = await app.request("/die", body(1025), sent);
    assert.equal(refused.status, 413, `${shape}: 1,025 bytes`);
    assert.equal(await refused.text(), "request body too large");
  }
});

Deno.test("refuseOnceAborted() answers 503 once shutdown has begun, closing its connection", async () => {
  const shutdown = new AbortController();
  const handler = refuseOnceAborted(shutdown.signal, app.fetch);
  const request = () => new Request("http://localhost/healthcheck");
  assert.equal((await handler(request(), sent)).status, 200);
  shutdown.abort();
  const response = await handler(request(), sent);
  assert.equal(response.status, 503);
  assert.equal(response.headers.get("connection"), "close");
  assert.equal(closesConnection(response), true);
  assert.equal(await response.text(), "shutting down");
});

Deno.test("countRequests() counts by route and status, and an unknown path as other", async () => {
  const { http } = createMetrics();
  const handler = countRequests(http.requests, app.fetch);
  for (
    const path of ["/healthcheck", "/healthcheck?x=1", "/die", "/a", "/b/c"]
  ) {
    await (await handler(new Request(`http://localhost${path}`), sent)).body
      ?.cancel();
  }
  const values = (await http.requests.get()).values.map((
    { labels, value },
  ) => [labels.route, labels.status, value]);
  assert.deepEqual(values, [
    ["/healthcheck", 200, 2],
    ["/die", 405, 1],
    ["other", 404, 2],
  ]);
});

Deno.test("a /die body that fails mid-read gets 400, and the app answers on", async () => {
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      controller.error(new Deno.errors.BadResource("cut off"));
    },
  });
  const response = await app.request(
    "/die",
    { method: "POST", body, duplex: "half" } as RequestInit,
    sent,
  );
  assert.equal(response.status, 400);
  assert.equal(await response.text(), "bad request body");
  const health = await app.request("/healthcheck", {}, sent);
  assert.equal(health.status, 200);
});

Deno.test("an error of the service's own gets 500, silently, and the app answers on", async () => {
  const failing = createHttpApp({
    onDie: () => {},
    metricsText: {
      contentType: "text/plain",
      read: () => Promise.reject(new Error("metrics broke")),
    },
  });
  const response = await failing.request("/metrics", {}, sent);
  assert.equal(response.status, 500);
  assert.equal(await response.text(), "internal server error");
  const health = await failing.request("/healthcheck", {}, sent);
  assert.equal(health.status, 200);
});
