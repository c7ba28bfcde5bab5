import assert from "node:assert/strict";
import { handleEchoConnection } from "../src/echo/echo.ts";
import type { EchoResult } from "../src/echo/echo_stream.ts";
import { type Config, parseCommandLine } from "../src/settings/config.ts";
import { startServer } from "../src/server.ts";
import { FakeTime } from "./_fake_time.ts";
import { stub } from "./_stub.ts";
import { LineCapture } from "./_line_capture.ts";
import { parseMetrics } from "./_metrics_text.ts";
import { readExactly } from "./_read.ts";
import { LOOPBACK_ANY_PORT } from "./_service_process.ts";
import { test } from "./_time_limit.ts";
import { CERTIFICATE } from "./_certificates.ts";

const timeouts = { initialMs: 5_000, refreshMs: 30_000 };
const bytes = (text: string) => new TextEncoder().encode(text);
const caCerts = [CERTIFICATE.cert];

/** A TLS listener on loopback with the test certificate. */
function listenTls(): Deno.TlsListener {
  return Deno.listenTls({ hostname: "127.0.0.1", port: 0, ...CERTIFICATE });
}

/** Reads until the stream ends; everything read. */
async function readToEnd(conn: Deno.Conn): Promise<Uint8Array> {
  return await new Response(conn.readable).bytes();
}

/** Serves one connection of `listener`; records when it settled. */
async function serveOne(
  listener: Deno.TlsListener,
  clock: { now: number },
  signal?: AbortSignal,
) {
  const served = handleEchoConnection(await listener.accept(), {
    timeouts,
    signal,
  });
  const record: { result: Promise<EchoResult>; settledAt?: number } = {
    result: served,
  };
  served.finally(() => record.settledAt = clock.now);
  return record;
}

test(
  "handleEchoConnection() over TLS echoes after the handshake",
  async () => {
    using listener = listenTls();
    const client = await Deno.connectTls({ port: listener.addr.port, caCerts });
    const served = handleEchoConnection(await listener.accept(), { timeouts });
    await client.write(bytes("over tls"));
    assert.deepEqual(await readExactly(client, 8), bytes("over tls"));
    client.close();
    assert.deepEqual(await served, { reason: "closed", bytesEchoed: 8 });
  },
  10_000,
);

test(
  "handleEchoConnection() drops a client that never starts its handshake at the initial timeout",
  async () => {
    using time = new FakeTime(0);
    using _now = stub(performance, "now", () => time.now);
    using listener = listenTls();
    using _client = await Deno.connect({ port: listener.addr.port });
    const served = await serveOne(listener, time);
    await time.tickAsync(timeouts.initialMs - 1);
    await time.runMicrotasks();
    assert.equal(served.settledAt, undefined);
    await time.tickAsync(1);
    assert.deepEqual(await served.result, { reason: "idle", bytesEchoed: 0 });
    assert.equal(served.settledAt, timeouts.initialMs);
    // Deno 2.9 keeps the socket itself open until the client speaks or leaves:
    // closing a TLS connection mid-handshake waits for the handshake (docs/security.md).
  },
  10_000,
);

test(
  "handleEchoConnection() drops a client that stalls mid-handshake at the initial timeout",
  async () => {
    using time = new FakeTime(0);
    using _now = stub(performance, "now", () => time.now);
    using listener = listenTls();
    using client = await Deno.connect({ port: listener.addr.port });
    const served = await serveOne(listener, time);
    // The header of a handshake record that promises 512 bytes, then nothing.
    await client.write(new Uint8Array([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]));
    await time.tickAsync(timeouts.initialMs - 1);
    await time.runMicrotasks();
    assert.equal(served.settledAt, undefined);
    await time.tickAsync(1);
    assert.deepEqual(await served.result, { reason: "idle", bytesEchoed: 0 });
  },
  10_000,
);

test(
  "handleEchoConnection() closes a plaintext client on a TLS stream without echoing it",
  async () => {
    using listener = listenTls();
    using client = await Deno.connect({ port: listener.addr.port });
    const served = handleEchoConnection(await listener.accept(), { timeouts });
    await client.write(bytes("GET / HTTP/1.1\r\n\r\n"));
    const { reason, bytesEchoed, error } = await served;
    assert.deepEqual({ reason, bytesEchoed }, {
      reason: "handshake",
      bytesEchoed: 0,
    });
    assert.ok(error instanceof Deno.errors.InvalidData, String(error));
    // What comes back is a TLS alert, never the request.
    const answer = await readToEnd(client);
    assert.equal(new TextDecoder().decode(answer).includes("GET"), false);
    assert.equal(answer[0], 0x15);
  },
  10_000,
);

test(
  "handleEchoConnection() takes a client that hangs up before its handshake as closed",
  async () => {
    using listener = listenTls();
    const client = await Deno.connect({ port: listener.addr.port });
    const served = handleEchoConnection(await listener.accept(), { timeouts });
    client.close();
    assert.deepEqual(await served, { reason: "closed", bytesEchoed: 0 });
  },
  10_000,
);

test(
  "handleEchoConnection() on shutdown mid-handshake ends at once, and skips it once aborted",
  async () => {
    using time = new FakeTime(0);
    using _now = stub(performance, "now", () => time.now);
    using listener = listenTls();
    using _client = await Deno.connect({ port: listener.addr.port });
    const shutdown = new AbortController();
    const served = await serveOne(listener, time, shutdown.signal);
    shutdown.abort();
    assert.deepEqual(await served.result, {
      reason: "shutdown",
      bytesEchoed: 0,
    });
    assert.equal(served.settledAt, 0);

    using _late = await Deno.connect({ port: listener.addr.port });
    const skipped = await serveOne(listener, time, shutdown.signal);
    assert.deepEqual(await skipped.result, {
      reason: "shutdown",
      bytesEchoed: 0,
    });
    assert.equal(skipped.settledAt, 0);
  },
  10_000,
);

/** The service's defaults on free loopback ports, with a token and TLS. */
function tlsConfig(): Config {
  const parsed = parseCommandLine(
    [...LOOPBACK_ANY_PORT, "--log-level", "debug", "--die-token", "t0ken"],
    {},
  );
  if (parsed.kind !== "run") throw new Error(JSON.stringify(parsed));
  return {
    ...parsed.settings,
    tls: { cert: CERTIFICATE.cert, key: CERTIFICATE.key },
  };
}

/** The service over TLS on free loopback ports; stopped when disposed. */
function serveTls() {
  const shutdown = new AbortController();
  const log = new LineCapture();
  const server = startServer(tlsConfig(), { shutdown, logger: log.logger });
  const client = Deno.createHttpClient({ caCerts });
  return {
    ...server,
    log,
    shutdown,
    /** An HTTPS request to the service, trusting the test certificate. */
    fetch: (path: string, init: RequestInit = {}) =>
      fetch(`https://localhost:${server.httpAddr.port}${path}`, {
        ...init,
        client,
      }),
    connectTls: () =>
      Deno.connectTls({
        hostname: "localhost",
        port: server.echoAddr.port,
        caCerts,
      }),
    async [Symbol.asyncDispose]() {
      shutdown.abort("test over");
      await server.finished;
      client.close();
    },
  };
}

test(
  "startServer() with a TLS pair echoes 1 MiB over TLS and answers HTTPS",
  async () => {
    await using server = serveTls();
    using conn = await server.connectTls();
    const data = crypto.getRandomValues(new Uint8Array(65_536));
    const sent = new Uint8Array(1 << 20).map((_, i) => data[i % data.length]);
    const [echoed] = await Promise.all([
      readExactly(conn, sent.length),
      (async () => {
        for (let at = 0; at < sent.length;) {
          at += await conn.write(sent.subarray(at));
        }
      })(),
    ]);
    assert.deepEqual(echoed, sent);
    const health = await server.fetch("/healthcheck");
    assert.equal(await health.text(), "ok computer");
    await assert.rejects(
      fetch(`http://127.0.0.1:${server.httpAddr.port}/healthcheck`),
    );
  },
  10_000,
);

test(
  "startServer() over TLS counts plaintext clients, warns once a second, and serves on",
  async () => {
    await using server = serveTls();
    for (let i = 1; i <= 3; i++) {
      using plain = await Deno.connect({ port: server.echoAddr.port });
      await plain.write(bytes("hello\n"));
      assert.equal(
        new TextDecoder().decode(await readToEnd(plain)).includes("hello"),
        false,
      );
      await server.log.waitFor("connection ended", i);
    }
    const warnings = server.log.lines.filter((line) =>
      line.startsWith("warning: TLS handshake failed")
    );
    assert.equal(warnings.length, 1, warnings.join("\n"));
    assert.match(
      warnings[0],
      /^warning: TLS handshake failed remote=127\.0\.0\.1:\d+ error=".*InvalidContentType"$/,
    );
    assert.match(
      server.log.lines.find((line) => line.includes("connection ended"))!,
      /client=1 .*reason=handshake bytes=0 /,
    );
    using conn = await server.connectTls();
    await conn.write(bytes("still here"));
    assert.deepEqual(await readExactly(conn, 10), bytes("still here"));
    const metrics = parseMetrics(await (await server.fetch("/metrics")).text());
    assert.equal(
      metrics.get(
        'echoserver_echo_connections_ended_total{reason="handshake"}',
      ),
      3,
    );
  },
  10_000,
);

test(
  "startServer() over TLS stops on POST /die with the token, over HTTPS",
  async () => {
    await using server = serveTls();
    const denied = await server.fetch("/die", { method: "POST" });
    await denied.body?.cancel();
    assert.equal(denied.status, 401);
    const die = await server.fetch("/die", {
      method: "POST",
      headers: { authorization: "Bearer t0ken" },
    });
    assert.equal(await die.text(), "bye bye");
    await server.finished;
  },
  10_000,
);

test(
  "startServer() over TLS takes openssl s_client closing without close_notify as closed, with no warning",
  async () => {
    await using server = serveTls();
    // -quiet keeps s_client open at the end of its input; SIGTERM, as a
    // Ctrl-C or a timeout does, ends it with no close_notify.
    const client = new Deno.Command("openssl", {
      args: [
        "s_client",
        "-quiet",
        "-connect",
        `127.0.0.1:${server.echoAddr.port}`,
        "-CAfile",
        CERTIFICATE.certFile,
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const writer = client.stdin.getWriter();
    await writer.write(bytes("hey there\n"));
    let echoed = "";
    for await (
      const text of client.stdout.pipeThrough(new TextDecoderStream())
    ) {
      echoed += text;
      if (echoed.length >= 10) break; // cancels stdout
    }
    assert.equal(echoed, "hey there\n");
    client.kill("SIGTERM");
    await client.status;
    await writer.close().catch(() => {});
    const ended = await server.log.waitFor("connection ended");
    assert.match(ended, /^info: connection ended .*reason=closed bytes=10 /);
    assert.deepEqual(
      server.log.lines.filter((line) => line.startsWith("warning")),
      [],
    );
  },
  10_000,
);
