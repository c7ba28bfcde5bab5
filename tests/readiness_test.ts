import assert from "node:assert/strict";
import {
  countRequests,
  createHttpApp,
  type HttpBindings,
} from "../src/http/http_app.ts";
import { Readiness } from "../src/http/readiness.ts";
import { createMetrics } from "../src/metrics.ts";
import { parseMetrics } from "./_metrics_text.ts";
import { assertEchoes, connect } from "./_echo_client.ts";
import { LOOPBACK_ANY_PORT, ServiceProcess } from "./_service_process.ts";
import { test } from "./_time_limit.ts";

const sent: HttpBindings = { completed: Promise.resolve() };

/** An app over a readiness whose gauges are in `metrics`. */
function readinessApp(options: { dieToken?: string } = {}) {
  const metrics = createMetrics();
  const draining = new AbortController();
  const readiness = new Readiness({
    draining: draining.signal,
    metrics: metrics.readiness,
  });
  const app = createHttpApp({
    onDie: () => assert.fail("nothing here shuts down"),
    metricsText: metrics.text,
    readiness,
    ...options,
  });
  const request = async (method: string, path: string, token?: string) => {
    const headers = token ? { authorization: `Bearer ${token}` } : undefined;
    const response = await app.request(path, { method, headers }, sent);
    return { status: response.status, text: await response.text() };
  };
  /** The two readiness gauges, as /metrics writes them. */
  const gauges = async () => {
    const samples = parseMetrics(await metrics.text.read());
    return [
      samples.get("echoserver_ready"),
      samples.get("echoserver_ready_switched_off"),
    ];
  };
  return { app, request, gauges, draining, metrics };
}

Deno.test("POST /readyz/fail turns /readyz to 503 and POST /readyz/ok back to 200, and the rest answers on", async () => {
  const { request, gauges } = readinessApp();
  assert.deepEqual(await gauges(), [1, 0]);
  assert.deepEqual(await request("POST", "/readyz/fail"), {
    status: 200,
    text: "switched off: /readyz answers 503",
  });
  assert.deepEqual(await request("GET", "/readyz"), {
    status: 503,
    text: "switched off",
  });
  assert.deepEqual(await gauges(), [0, 1]);
  for (const path of ["/healthcheck", "/livez", "/metrics"]) {
    assert.equal((await request("GET", path)).status, 200, path);
  }
  // Switching off twice changes nothing.
  assert.equal((await request("POST", "/readyz/fail")).status, 200);
  assert.deepEqual(await request("POST", "/readyz/ok"), {
    status: 200,
    text: "switched on: /readyz answers 200",
  });
  assert.deepEqual(await request("GET", "/readyz"), {
    status: 200,
    text: "ready",
  });
  assert.deepEqual(await gauges(), [1, 0]);
});

Deno.test("POST /readyz/ok does not undo draining: 409, and /readyz stays 503", async () => {
  const { request, gauges, draining } = readinessApp();
  assert.equal((await request("POST", "/readyz/fail")).status, 200);
  draining.abort();
  assert.deepEqual(await gauges(), [0, 1]);
  assert.deepEqual(await request("POST", "/readyz/ok"), {
    status: 409,
    text: "shutting down: /readyz answers 503",
  });
  assert.deepEqual(await request("GET", "/readyz"), {
    status: 503,
    text: "shutting down",
  });
  // Draining, and no longer switched off: the two are told apart.
  assert.deepEqual(await gauges(), [0, 0]);
});

Deno.test("draining alone sets echoserver_ready to 0 as it begins", async () => {
  const { gauges, draining } = readinessApp();
  draining.abort();
  assert.deepEqual(await gauges(), [0, 0]);
});

Deno.test("with a die token, POST /readyz/fail and /readyz/ok need it as a bearer token", async () => {
  const { request } = readinessApp({ dieToken: "open-sesame" });
  for (const path of ["/readyz/fail", "/readyz/ok"]) {
    assert.equal((await request("POST", path)).status, 401, path);
    assert.equal((await request("POST", path, "wrong")).status, 401, path);
  }
  assert.equal((await request("GET", "/readyz")).status, 200, "untouched");
  assert.equal(
    (await request("POST", "/readyz/fail", "open-sesame")).status,
    200,
  );
  assert.equal((await request("GET", "/readyz")).status, 503);
  assert.equal(
    (await request("POST", "/readyz/ok", "open-sesame")).status,
    200,
  );
  assert.equal((await request("GET", "/readyz")).status, 200);
});

Deno.test("POST /readyz/fail with a body over 1 KiB gets 413 and switches nothing", async () => {
  const { app, request } = readinessApp();
  const response = await app.request("/readyz/fail", {
    method: "POST",
    body: "x".repeat(1025),
  }, sent);
  assert.equal(response.status, 413);
  await response.body?.cancel();
  assert.equal((await request("GET", "/readyz")).status, 200);
});

Deno.test("a wrong method on /readyz/fail or /readyz/ok gets 405, counted under its route", async () => {
  const { app, metrics } = readinessApp();
  const handler = countRequests(metrics.http.requests, app.fetch);
  for (const path of ["/readyz/fail", "/readyz/ok"]) {
    for (const method of ["GET", "HEAD", "PUT"]) {
      const response = await handler(
        new Request(`http://localhost${path}`, { method }),
        sent,
      );
      assert.equal(response.status, 405, `${method} ${path}`);
      assert.equal(response.headers.get("allow"), "POST");
      await response.body?.cancel();
    }
  }
  const response = await handler(
    new Request("http://localhost/readyz/fail", { method: "POST" }),
    sent,
  );
  await response.body?.cancel();
  const counted = metrics.http.requests.get().values.map((
    { labels, value },
  ) => [labels.route, labels.status, value]);
  assert.deepEqual(counted, [
    ["/readyz/fail", 405, 3],
    ["/readyz/ok", 405, 3],
    ["/readyz/fail", 200, 1],
  ]);
});

test("a running service switched off by hand keeps echoing, and SIGTERM's drain is not undone by /readyz/ok", async () => {
  const token = "drain-me";
  await using service = new ServiceProcess([
    ...LOOPBACK_ANY_PORT,
    ...["--die-token", token, "--shutdown-delay", "60"],
  ]);
  const ports = await service.ports();
  const url = (path: string) => `http://127.0.0.1:${ports.http}${path}`;
  const post = async (path: string) => {
    const response = await fetch(url(path), {
      method: "POST",
      headers: { authorization: `Bearer ${token}` },
    });
    await response.body?.cancel();
    return response.status;
  };
  const get = async (path: string) => {
    const response = await fetch(url(path));
    return [response.status, await response.text()] as const;
  };
  const gauges = async () => {
    const samples = parseMetrics((await get("/metrics"))[1]);
    return [
      samples.get("echoserver_ready"),
      samples.get("echoserver_ready_switched_off"),
    ];
  };

  assert.equal(await post("/readyz/fail"), 200);
  assert.deepEqual(await get("/readyz"), [503, "switched off"]);
  assert.deepEqual(await gauges(), [0, 1]);
  using conn = await connect(ports.echo);
  await assertEchoes(conn, "still echoing");
  assert.equal(await post("/readyz/ok"), 200);
  assert.deepEqual(await get("/readyz"), [200, "ready"]);

  service.kill("SIGTERM");
  await service.stderr.waitFor("draining: /readyz answers 503");
  assert.deepEqual(await get("/readyz"), [503, "shutting down"]);
  assert.equal(await post("/readyz/ok"), 409);
  assert.deepEqual(await get("/readyz"), [503, "shutting down"]);
  assert.deepEqual(await gauges(), [0, 0]);
  await assertEchoes(conn, "and during the delay");
  assert.equal(await post("/die"), 200);
  assert.equal((await service.status).code, 0);
});
