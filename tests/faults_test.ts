import assert from "node:assert/strict";
import { createMetrics } from "../src/metrics.ts";
import type { EchoConn, EchoListener } from "../src/echo/echo_stream.ts";
import { serveEcho } from "../src/echo/serve_echo.ts";
import { startServer } from "../src/server.ts";
import { bytes, connect, writeAll } from "./_echo_client.ts";
import { rawHttpStatus, readStatus } from "./_http_raw.ts";
import { freePort } from "./_free_port.ts";
import { LineCapture } from "./_line_capture.ts";
import { loopbackConfig } from "./_loopback_config.ts";
import { readExactly } from "./_read.ts";
import { test } from "./_time_limit.ts";

const timeouts = { initialMs: 5_000, refreshMs: 30_000 };

/** Deterministic bytes that differ from one offset to the next. */
function pattern(size: number): Uint8Array {
  return Uint8Array.from(
    { length: size },
    (_, i) => (i * 31 + (i >> 12)) & 0xff,
  );
}

/**
 * Wraps a real listener, tracking the most data the server held for any one
 * client: bytes read from it and not yet written back.
 */
function measuredListener(listener: Deno.TcpListener) {
  const held = { most: 0 };
  const measured: EchoListener = {
    async accept(): Promise<EchoConn> {
      const conn = await listener.accept();
      let holding = 0;
      return {
        remoteAddr: conn.remoteAddr,
        async read(buffer) {
          const size = await conn.read(buffer);
          holding += size ?? 0;
          held.most = Math.max(held.most, holding);
          return size;
        },
        async write(data) {
          const size = await conn.write(data);
          holding -= size;
          return size;
        },
        close: () => conn.close(),
      };
    },
    close: () => listener.close(),
  };
  return { measured, held };
}

test(
  "backpressure: a client that does not read is not read from, and others are served",
  async () => {
    using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const { measured, held } = measuredListener(listener);
    const server = serveEcho(measured, {
      timeouts,
      maxConnections: 100,
      logger: new LineCapture().logger,
      metrics: createMetrics().echo,
    });
    const data = pattern(32 << 20);
    using flooder = await connect(listener.addr.port);
    // 32 MiB is far more than the kernel buffers between the two can hold, so
    // this write stalls until the flooder reads.
    const flooding = writeAll(flooder, data);
    using other = await connect(listener.addr.port);
    await writeAll(other, bytes("served meanwhile"));
    assert.deepEqual(await readExactly(other, 16), bytes("served meanwhile"));

    const echoed = await readExactly(flooder, data.length);
    assert.ok(echoed.every((byte, i) => byte === data[i]), "echo differs");
    await flooding;
    assert.ok(
      held.most <= 64 * 1024,
      `the server held ${held.most} bytes of client data at once`,
    );
    await server.close();
  },
  30_000,
);

test("half-close: everything sent before the client's FIN comes back, then the server closes", async () => {
  const shutdown = new AbortController();
  const log = new LineCapture();
  const server = startServer(loopbackConfig(), {
    shutdown,
    logger: log.logger,
  });
  using conn = await connect(server.echoAddr.port);
  const data = pattern(1 << 20);
  await writeAll(conn, data);
  await conn.closeWrite();
  assert.deepEqual(await readExactly(conn, data.length), data);
  assert.equal(await conn.read(new Uint8Array(1)), null);
  await log.waitFor("reason=closed bytes=1048576 ");
  shutdown.abort();
  await server.finished;
});

test("shutdown closes thousands of open echo connections", async () => {
  const shutdown = new AbortController();
  const server = startServer(loopbackConfig({ logLevel: "warning" }), {
    shutdown,
    logger: new LineCapture().logger,
  });
  const conns = [];
  for (let i = 0; i < 2_000; i++) {
    conns.push(await connect(server.echoAddr.port));
  }
  await Promise.all(conns.map(async (conn) => {
    await conn.write(bytes("."));
    await readExactly(conn, 1);
  }));
  shutdown.abort("test");
  await server.finished;
  const ends = await Promise.all(
    conns.map((conn) => conn.read(new Uint8Array(1))),
  );
  assert.ok(ends.every((end) => end === null));
  for (const conn of conns) conn.close();
});

test("shutdown does not wait for an idle keep-alive HTTP connection", async () => {
  const shutdown = new AbortController();
  const server = startServer(loopbackConfig(), {
    shutdown,
    logger: new LineCapture().logger,
  });
  using keptAlive = await connect(server.httpAddr.port);
  await writeAll(
    keptAlive,
    bytes("GET /healthcheck HTTP/1.1\r\nHost: x\r\n\r\n"),
  );
  assert.equal(await readStatus(keptAlive), 200);
  shutdown.abort("test");
  await server.finished;
});

test("hostile HTTP input gets an error status or a closed connection, and health checks go on", async () => {
  const shutdown = new AbortController();
  const log = new LineCapture();
  const server = startServer(loopbackConfig(), {
    shutdown,
    logger: log.logger,
  });
  const port = server.httpAddr.port;
  const garbage = new Uint8Array(4096);
  crypto.getRandomValues(garbage);
  const cases: [string, string | Uint8Array][] = [
    ["garbage bytes", garbage],
    [
      "a 200 KB request line",
      `GET /${"a".repeat(200_000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
    ],
    [
      "1 MB of headers",
      `GET /healthcheck HTTP/1.1\r\nHost: x\r\n${
        "X-Big: " + "b".repeat(8_000) + "\r\n"
          .repeat(1)
      }`.repeat(1) +
      Array.from(
        { length: 125 },
        (_, i) => `X-Big-${i}: ${"b".repeat(8_000)}\r\n`,
      ).join("") +
      "\r\n",
    ],
    [
      "a gigabyte Content-Length on /die",
      "POST /die HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\nsome",
    ],
  ];
  for (const [name, request] of cases) {
    const status = await rawHttpStatus(port, request);
    assert.ok(status === "closed" || status >= 400, `${name}: ${status}`);
    assert.equal(
      await rawHttpStatus(port, "GET /healthcheck HTTP/1.1\r\nHost: x\r\n\r\n"),
      200,
    );
  }
  assert.equal(
    shutdown.signal.aborted,
    false,
    "a refused /die stopped the service",
  );

  // A request trickled a byte at a time holds up nobody.
  using trickler = await connect(port);
  for (
    const byte of bytes(`GET /${"t".repeat(100)} HTTP/1.1\r\nHost: x\r\n\r\n`)
  ) {
    await writeAll(trickler, new Uint8Array([byte]));
    assert.equal(
      await rawHttpStatus(port, "GET /healthcheck HTTP/1.1\r\nHost: x\r\n\r\n"),
      200,
    );
  }
  assert.equal(await readStatus(trickler), 404);
  shutdown.abort("test");
  await server.finished;
});

test("startServer() refuses an HTTP address off loopback with no die token, and leaves nothing open", async () => {
  // A port known to be free, to see that the refusal leaves it so.
  const port = freePort({ hostname: "0.0.0.0" });
  const open = { hostname: "0.0.0.0", port };
  const shutdown = new AbortController();
  assert.throws(
    () => startServer(loopbackConfig({ http: open }), { shutdown }),
    {
      name: "ConfigError",
      message: "--http-host 0.0.0.0 is off loopback with no die token: " +
        "anyone who reaches it could stop the service with POST /die; " +
        "give --die-token-file (or --die-token), or an --http-host on loopback",
    },
  );
  // Nothing was opened: a retry with a token can have the same port.
  for (
    const overrides of [
      { http: open, dieToken: "t0ken" },
      {},
      // Loopback in short forms and by name: what counts is the address bound.
      { http: { hostname: "127.1", port: 0 } },
      { http: { hostname: "localhost", port: 0 } },
      { http: { hostname: "::1", port: 0 } },
    ]
  ) {
    const shutdown = new AbortController();
    const server = startServer(loopbackConfig(overrides), { shutdown });
    shutdown.abort("test");
    await server.finished;
  }
});
