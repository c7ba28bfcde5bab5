// The service behind a real HAProxy (Debian's `haproxy`): PROXY protocol v1
// and v2 interop, and a rolling restart that drops no client. Without haproxy
// these tests are skipped with one line saying so, unless CI_REQUIRE_HAPROXY=1
// (as .ci/run sets it), when they fail instead.
import { withinTimeLimit } from "./_time_limit.ts";
import assert from "node:assert/strict";
import { errorMessage } from "../src/net/error_message.ts";
import { formatHostPort } from "../src/net/net_addr.ts";
import {
  type Backend,
  HAPROXY,
  haproxyConfig,
  HaproxyProcess,
  hasIPv6Loopback,
} from "./_haproxy.ts";
import { freePort } from "./_free_port.ts";
import { rawHttpStatus } from "./_http_raw.ts";
import { readExactly } from "./_read.ts";
import { LOOPBACK_ANY_PORT, ServiceProcess } from "./_service_process.ts";

const required = Deno.env.get("CI_REQUIRE_HAPROXY") === "1";
const ignore = HAPROXY === undefined && !required;
if (ignore) {
  console.log(
    "haproxy tests skipped: haproxy is not installed (apt-get install haproxy)",
  );
}

/** A test body that fails, rather than hangs, after `ms`. */
function limited(ms: number, body: () => Promise<void>): () => Promise<void> {
  return async () => {
    assert.ok(HAPROXY, "haproxy is not installed, and CI_REQUIRE_HAPROXY=1");
    await withinTimeLimit(body(), ms, "haproxy test");
  };
}

/** `size` bytes in a pattern that a lost, doubled or reordered chunk breaks. */
function patternBytes(size: number): Uint8Array {
  return Uint8Array.from(
    { length: size },
    (_, i) => (i * 31 + (i >> 9)) & 0xff,
  );
}

for (const sendProxy of ["send-proxy", "send-proxy-v2"] as const) {
  Deno.test({
    name:
      `HAProxy with ${sendProxy}: 300 KB echoed byte-exact, logged under the client's own address and port`,
    ignore,
    fn: limited(20_000, async () => {
      await using service = new ServiceProcess([
        ...LOOPBACK_ANY_PORT,
        "--proxy-protocol",
      ]);
      const ports = await service.ports();
      const ipv6 = hasIPv6Loopback();
      const port = freePort({ ipv6 });
      await using haproxy = new HaproxyProcess(haproxyConfig({
        port,
        ipv6,
        sendProxy,
        backends: [{ name: "a", echoPort: ports.echo, httpPort: ports.http }],
        checkIntervalMs: 1_000,
        fall: 2,
      }));
      await haproxy.ready("a");
      for (const hostname of ipv6 ? ["127.0.0.1", "::1"] : ["127.0.0.1"]) {
        const payload = patternBytes(300 * 1024);
        using conn = await Deno.connect({ hostname, port });
        const writer = conn.writable.getWriter();
        const [echoed] = await Promise.all([
          readExactly(conn, payload.length),
          writer.write(payload),
        ]);
        assert.ok(
          echoed.every((byte, i) => byte === payload[i]),
          "echo differs",
        );
        writer.releaseLock();
        await conn.closeWrite();
        assert.equal(await conn.read(new Uint8Array(1)), null);
        const client = formatHostPort(conn.localAddr);
        const line = await service.stderr.waitFor(` remote=${client} `);
        assert.match(
          line,
          new RegExp(
            `^info: connection ended client=\\d+ remote=${
              RegExp.escape(client)
            } proxy=127\\.0\\.0\\.1:\\d+ reason=closed bytes=${payload.length} `,
          ),
        );
      }
    }),
  });
}

/** Short clients through `port`, `workers` at a time, until stopped or `maxClients` have run. */
function shortClients(port: number, workers: number, maxClients: number) {
  let stopped = false;
  let started = 0;
  let served = 0;
  const failures: string[] = [];
  const worker = async () => {
    while (!stopped && started < maxClients) {
      const id = started++;
      try {
        await shortClient(port, id);
        served++;
      } catch (error) {
        failures.push(`client ${id}: ${errorMessage(error)}`);
      }
    }
  };
  const running = Promise.all(Array.from({ length: workers }, worker));
  return {
    async stop() {
      stopped = true;
      await running;
      return { started, served, failures };
    },
  };
}

/** Connects, has one line echoed, and sees the server close in turn. */
async function shortClient(port: number, id: number): Promise<void> {
  using conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const message = new TextEncoder().encode(`client ${id}\n`);
  assert.equal(await conn.write(message), message.length);
  assert.deepEqual(await readExactly(conn, message.length), message);
  await conn.closeWrite();
  assert.equal(
    await conn.read(new Uint8Array(1)),
    null,
    "bytes after the echo",
  );
}

Deno.test({
  name:
    "HAProxy rolling restart: each instance stopped with --shutdown-delay and replaced on its ports, no client fails",
  ignore,
  fn: limited(45_000, async () => {
    // HAProxy takes an instance out after `fall` failed checks `inter` apart
    // (0.2 s); the shutdown delay (1 s) must outlast that.
    const [checkIntervalMs, fall, shutdownDelay] = [100, 2, "1"];
    const backends: Backend[] = ["a", "b"].map((name) => ({
      name,
      echoPort: freePort(),
      httpPort: freePort(),
    }));
    const start = (backend: Backend) =>
      new ServiceProcess([
        "--echo-host",
        "127.0.0.1",
        "--echo-port",
        `${backend.echoPort}`,
        "--http-port",
        `${backend.httpPort}`,
        "--proxy-protocol",
        "--shutdown-delay",
        shutdownDelay,
      ]);
    const instances = backends.map(start);
    try {
      for (const [index, backend] of backends.entries()) {
        assert.deepEqual(await instances[index].ports(), {
          echo: backend.echoPort,
          http: backend.httpPort,
        });
      }
      const port = freePort();
      await using haproxy = new HaproxyProcess(haproxyConfig({
        port,
        sendProxy: "send-proxy-v2",
        backends,
        checkIntervalMs,
        fall,
      }));
      for (const { name } of backends) await haproxy.ready(name);

      const load = shortClients(port, 4, 100_000);
      for (const [index, backend] of backends.entries()) {
        const old = instances[index];
        await old.stderr.waitFor("reason=closed");
        old.kill("SIGTERM");
        assert.equal((await old.status).code, 0);
        const fresh = start(backend);
        instances.push(fresh);
        assert.deepEqual(await fresh.ports(), {
          echo: backend.echoPort,
          http: backend.httpPort,
        });
        // Back in rotation: HAProxy sends it clients, under their own address.
        assert.match(
          await fresh.stderr.waitFor("reason=closed"),
          / remote=127\.0\.0\.1:\d+ proxy=127\.0\.0\.1:\d+ /,
        );
      }
      const { started, served, failures } = await load.stop();
      assert.deepEqual(failures.slice(0, 5), [], `${failures.length} failed`);
      assert.equal(served, started);
      console.log(`rolling restart: ${served} clients, none failed`);
    } finally {
      for (const instance of instances) await instance[Symbol.asyncDispose]();
    }
  }),
});

Deno.test({
  name:
    "behind HAProxy with a path ACL, neither a / in the Host header nor a path in another form reaches /die or /metrics",
  ignore,
  fn: limited(20_000, async () => {
    await using service = new ServiceProcess(LOOPBACK_ANY_PORT);
    const { http } = await service.ports();
    const port = freePort();
    // HTTP mode, as a proxy that guards the admin paths would be set up.
    await using _haproxy = new HaproxyProcess([
      "defaults",
      "  mode http",
      "  timeout connect 2s",
      "  timeout client 10s",
      "  timeout server 10s",
      "frontend guard",
      `  bind 127.0.0.1:${port}`,
      "  http-request deny if { path_beg /die } || { path_beg /metrics }",
      "  default_backend service",
      "backend service",
      `  server service 127.0.0.1:${http}`,
      "",
    ].join("\n"));
    // HAProxy is up once its port answers.
    const request = (method: string, path: string, host: string) =>
      `${method} ${path} HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 0\r\n\r\n`;
    let status: number | "closed" = "closed";
    while (status !== 200) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      status = await rawHttpStatus(port, request("GET", "/healthcheck", "x"))
        .catch(() => "closed" as const);
    }
    // The ACL holds for the real paths...
    assert.equal(await rawHttpStatus(port, request("POST", "/die", "x")), 403);
    assert.equal(
      await rawHttpStatus(port, request("GET", "/metrics", "x")),
      403,
    );
    // ...and the smuggled ones, which HAProxy lets through, get 400.
    assert.equal(
      await rawHttpStatus(port, request("POST", "/healthcheck", "x/die?")),
      400,
    );
    assert.equal(
      await rawHttpStatus(port, request("GET", "/healthcheck", "x/metrics?")),
      400,
    );
    // So do paths the ACL misses because they are not in their plain form:
    // HAProxy passes each on as sent.
    for (
      const target of [
        "/%64ie",
        "/%2564ie",
        "//die",
        "/./die",
        "/x/../die",
        "/%6Detrics",
        "//metrics",
        "/\\die",
      ]
    ) {
      const method = target.includes("die") ? "POST" : "GET";
      assert.equal(
        await rawHttpStatus(port, request(method, target, "x")),
        400,
        target,
      );
    }
    assert.equal(
      await rawHttpStatus(port, request("GET", "/healthcheck", "x")),
      200,
    );
    assert.ok(
      !service.stderr.lines.some((line) => line.includes("shutting down")),
    );
  }),
});
