/**
 * Neither the Host header nor a request-target in another form than its plain
 * one can choose the route: Deno builds `request.url` from both as sent, and
 * Hono routes on the decoded path. Raw requests over a real socket, as an
 * attacker sends them.
 */
import assert from "node:assert/strict";
import { requestPath } from "../src/http/request_target.ts";
import { createMetrics } from "../src/metrics.ts";
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
  const samples = parseMetrics(await metrics.text.read());
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

/**
 * Request-targets that are not in plain form, each of which a proxy's path
 * rule for `/die` would miss and a router that decodes or normalises might
 * take to `/die`.
 */
const NOT_PLAIN = [
  "/%64ie", // percent-encoding of a letter
  "/d%69e",
  "/%2Fdie", // of a slash
  "/die%00",
  "/%2e%2e/die", // of a dot segment
  "//die", // an empty segment
  "/die/",
  "/./die", // dot segments
  "/a/../die",
  "/healthcheck/../die",
  "/die/.",
  "/..",
  "/\\die", // a backslash, a slash to some
  "/a\\..\\die",
  "/di\u00e9", // a byte outside ASCII (UTF-8 on the wire)
  "/die#x", // a fragment, never valid in a request-target
  "/healthcheck?x#/die",
  "http://h?x/die", // absolute-form with no path, a query that hides one
  "http://h#/die",
  "http://user@h/die",
  "http://h/%64ie",
  "ftp://h/die",
];

test("a request-target not in plain form gets 400 before routing, counted as route other", async () => {
  const metrics = createMetrics();
  await withService(async (port, shutdown) => {
    for (const target of NOT_PLAIN) {
      assert.equal(
        await rawHttpStatus(port, request("POST", target, "x")),
        400,
        target,
      );
    }
    assert.equal(shutdown.aborted, false);
  }, metrics);
  const samples = parseMetrics(await metrics.text.read());
  assert.deepEqual([...samples].filter(([key]) => key.includes("route=")), [
    [
      'echoserver_http_requests_total{route="other",status="400"}',
      NOT_PLAIN.length,
    ],
  ]);
});

test("a request-target in plain form is routed on its path as sent", async () => {
  await withService(async (port, shutdown) => {
    for (
      const [target, status] of [
        ["/healthcheck", 200],
        ["/healthcheck?x=%2F..%2Fdie&y=/die", 200],
        ["/healthcheck?", 200],
        ["/", 404],
        ["/healthcheck;x", 404],
        ["/die.", 404],
        ["/...", 404],
        ["/a/b:c@d/~e", 404],
        ["http://other.example:4001/livez", 200],
      ] as const
    ) {
      assert.equal(
        await rawHttpStatus(port, request("GET", target, "x")),
        status,
        target,
      );
    }
    assert.equal(shutdown.aborted, false);
  });
});

/** Sends `data` on one connection and reads until the server closes it. */
async function exchange(port: number, data: string): Promise<string> {
  using conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(new TextEncoder().encode(data));
  let received = "";
  for await (
    const chunk of conn.readable.pipeThrough(new TextDecoderStream())
  ) {
    received += chunk;
  }
  return received;
}

/** The `connection` header lines of an HTTP/1.1 answer's head. */
function connectionHeaders(response: string): string[] {
  const head = response.slice(0, response.indexOf("\r\n\r\n"));
  return head.split("\r\n").filter((line) => /^connection:/i.test(line));
}

test("a 400 before routing closes its connection, and says so once", async () => {
  await withService(async (port) => {
    // Kept alive: the 400 says it closes, and does; a request sent once it
    // has come is never read.
    using conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const encoder = new TextEncoder();
    await conn.write(encoder.encode(request("GET", "/%64ie", "x")));
    const reader = conn.readable.pipeThrough(new TextDecoderStream())
      .getReader();
    let received = "";
    while (!received.endsWith("bad request target")) {
      const { value, done } = await reader.read();
      if (done) break;
      received += value;
    }
    await conn.write(encoder.encode(request("GET", "/healthcheck", "x")))
      .catch(() => {}); // A reset is fine: the connection is closing.
    for (let chunk; !(chunk = await reader.read()).done;) {
      received += chunk.value;
    }
    assert.match(received, /^HTTP\/1\.1 400 [^]*bad request target$/);
    assert.deepEqual(connectionHeaders(received), ["connection: close"]);
    // Pipelined behind it: answered 503, never routed, then closed.
    const pipelined = await exchange(
      port,
      request("GET", "/%64ie", "x") + request("POST", "/die", "x"),
    );
    const answers = pipelined.split(/(?=HTTP\/1\.1 )/);
    assert.deepEqual(answers.map((answer) => answer.slice(9, 12)), [
      "400",
      "503",
    ]);
    // Asked to close: one `connection: close`, not Deno's and ours.
    const closing = await exchange(
      port,
      "GET /healthcheck HTTP/1.1\r\nHost: x/die?\r\nConnection: close\r\n\r\n",
    );
    assert.match(closing, /^HTTP\/1\.1 400 [^]*bad host header$/);
    assert.deepEqual(connectionHeaders(closing), ["connection: close"]);
  });
});

Deno.test("requestPath() is the request-target's path, and unknown behind a bad Host or target", () => {
  const at = (url: string, host?: string) =>
    requestPath(
      new Request(url, host === undefined ? {} : { headers: { host } }),
    );
  assert.equal(at("http://localhost:4001/healthcheck"), "/healthcheck");
  assert.equal(at("http://localhost:4001/metrics?x=/die"), "/metrics");
  assert.equal(at("http://[::1]:4001/livez", "[::1]:4001"), "/livez");
  assert.equal(at("http://x/die?/healthcheck", "x/die?"), undefined);
  assert.equal(at("http://x#/healthcheck", "x#"), undefined);
  assert.equal(at("http://localhost:4001/%64ie"), undefined);
  assert.equal(at("http://localhost:4001/livez#top"), undefined);
});
