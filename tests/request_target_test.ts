/**
 * The Host header cannot choose the route: Deno builds `request.url` from it,
 * so a `/` in it would become the path. Raw requests over a real socket, as an
 * attacker sends them.
 */
import assert from "node:assert/strict";
import { requestPath } from "../src/http/request_target.ts";
import { createMetrics } from "../src/observability/metrics.ts";
import { startServer } from "../src/server.ts";
import { rawHttpStatus } from "./_http_raw.ts";
import { LineCapture } from "./_line_capture.ts";
import { loopbackConfig } from "./_loopback_config.ts";
import { parseMetrics } from "./_metrics_text.ts";
import { test } from "./_time_limit.ts";

const config = loopbackConfig();

/** Runs `fn` against a service on free loopback ports, then stops it. */
async function withService(
  fn: (port: number, shutdown: AbortSignal) => Promise<void>,
  metrics = createMetrics(),
): Promise<void> {
  const shutdown = new AbortController();
  const server = startServer(config, {
    shutdown,
    logger: new LineCapture().logger,
    metrics,
  });
  try {
    await fn(server.httpAddr.port, shutdown.signal);
  } finally {
    shutdown.abort("test over");
    await server.finished;
  }
}

/** A request with a Host header line as given (or none). */
function request(method: string, target: string, host?: string): string {
  const hostLine = host === undefined ? "" : `Host: ${host}\r\n`;
  const body = method === "POST" ? "Content-Length: 0\r\n" : "";
  return `${method} ${target} HTTP/1.1\r\n${hostLine}${body}\r\n`;
}

test("a / in the Host header cannot reach /die or /metrics", async () => {
  const metrics = createMetrics();
  await withService(async (port, shutdown) => {
    // Exactly as the issue showed them: before, the first stopped the service.
    assert.equal(
      await rawHttpStatus(port, request("POST", "/healthcheck", "x/die?")),
      400,
    );
    assert.equal(shutdown.aborted, false);
    assert.equal(
      await rawHttpStatus(port, request("GET", "/healthcheck", "x/metrics?")),
      400,
    );
    assert.equal(
      await rawHttpStatus(port, request("GET", "/healthcheck", "localhost")),
      200,
    );
  }, metrics);
  // The route label follows the request-target, never the Host.
  const samples = parseMetrics(await metrics.registry.metrics());
  assert.equal(
    samples.get('echoserver_http_requests_total{route="other",status="400"}'),
    2,
  );
  assert.equal(
    samples.get(
      'echoserver_http_requests_total{route="/healthcheck",status="200"}',
    ),
    1,
  );
  for (const key of samples.keys()) {
    assert.doesNotMatch(key, /route="\/(die|metrics)"/);
  }
});

test("a Host that is not host[:port] gets 400, whatever hides the path", async () => {
  const hostile = [
    "x/die",
    "x/die?",
    "x?/die",
    "x#/die",
    "user@x/die?",
    "x%2fdie%3f",
    "x%2F..%2Fdie",
    "x:4001/die?",
    "[::1]/die?",
    "x\\die",
  ];
  await withService(async (port, shutdown) => {
    for (const host of hostile) {
      assert.equal(
        await rawHttpStatus(port, request("POST", "/healthcheck", host)),
        400,
        host,
      );
    }
    // Characters hyper itself refuses in a header are refused before us.
    for (const host of ["x\u0001/die", "x /die"]) {
      const status = await rawHttpStatus(
        port,
        request("POST", "/healthcheck", host),
      );
      assert.ok(status === 400 || status === "closed", `${host}: ${status}`);
    }
    assert.equal(shutdown.aborted, false);
  });
});

test("valid Host headers, an empty one and none are served", async () => {
  const valid = [
    "localhost",
    "localhost:4001",
    "127.0.0.1:4001",
    "[::1]:4001",
    "echo.example-1.internal",
    "",
  ];
  await withService(async (port) => {
    for (const host of valid) {
      assert.equal(
        await rawHttpStatus(port, request("GET", "/healthcheck", host)),
        200,
        host,
      );
    }
    assert.equal(
      await rawHttpStatus(port, request("GET", "/healthcheck")),
      200,
    );
  });
});

test("an absolute-form target routes on its own path, whatever the Host says", async () => {
  await withService(async (port, shutdown) => {
    assert.equal(
      await rawHttpStatus(
        port,
        request("GET", "http://other.example/healthcheck", "x"),
      ),
      200,
    );
    // Its path is /healthcheck?/die: a query, not a route.
    assert.equal(
      await rawHttpStatus(
        port,
        request("POST", "http://other.example/healthcheck?/die", "x/die?"),
      ),
      400,
    );
    assert.equal(
      await rawHttpStatus(
        port,
        request("POST", "http://other.example/healthcheck?/die", "x"),
      ),
      405,
    );
    assert.equal(shutdown.aborted, false);
  });
});

Deno.test("requestPath() is the request-target's path, and unknown behind a bad Host", () => {
  const at = (url: string, host?: string) =>
    requestPath(
      new Request(url, host === undefined ? {} : { headers: { host } }),
    );
  assert.equal(at("http://localhost:4001/healthcheck"), "/healthcheck");
  assert.equal(at("http://localhost:4001/metrics?x=/die#y"), "/metrics");
  assert.equal(at("http://localhost:4001/livez#top"), "/livez");
  assert.equal(at("http://[::1]:4001/livez", "[::1]:4001"), "/livez");
  assert.equal(at("http://x/die?/healthcheck", "x/die?"), undefined);
  assert.equal(at("http://x#/healthcheck", "x#"), undefined);
});
