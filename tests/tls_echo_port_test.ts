// Plain and TLS echo side by side: --tls-echo-port.
import assert from "node:assert/strict";
import { parseCommandLine } from "../src/settings/config.ts";
import { mergeListeners } from "../src/echo/merged_listener.ts";
import type { EchoConn, EchoListener } from "../src/echo/echo_stream.ts";
import { createMetrics } from "../src/metrics.ts";
import { ListenError, startServer } from "../src/server.ts";
import { CERTIFICATE } from "./_certificates.ts";
import { ClientProcess } from "./_client_process.ts";
import { assertEchoes, bytes, connect } from "./_echo_client.ts";
import { loopbackConfig } from "./_loopback_config.ts";
import { parseMetrics } from "./_metrics_text.ts";
import { LOOPBACK_ANY_PORT, ServiceProcess } from "./_service_process.ts";
import { parseOutcome } from "./_parse_outcome.ts";
import { test } from "./_time_limit.ts";

const TLS_FLAGS = [
  ...["--tls-cert", CERTIFICATE.certFile, "--tls-key", CERTIFICATE.keyFile],
];
/** What `deno task start` grants, and read for the certificate's files. */
const PERMISSIONS = [
  "--allow-net",
  "--allow-env",
  `--allow-read=${CERTIFICATE.certFile},${CERTIFICATE.keyFile}`,
];

Deno.test("--tls-echo-port gives TLS echo a port of its own, on the echo host", () => {
  const parsed = parseCommandLine([
    ...["--echo-host", "::1", "--tls-echo-port", "4443"],
    ...["--tls-cert", "c.pem", "--tls-key", "k.pem"],
  ], {});
  assert.ok(parsed.kind === "run");
  assert.deepEqual(parsed.settings.tlsEcho, { hostname: "::1", port: 4443 });
  assert.equal(parsed.settings.echo.port, 4000);
  const fromEnv = parseCommandLine(TLS_FLAGS, {
    ECHOSERVER__TLS_ECHO_PORT: "0",
  });
  assert.ok(fromEnv.kind === "run");
  assert.deepEqual(fromEnv.settings.tlsEcho, { hostname: "0.0.0.0", port: 0 });
  const alone = parseCommandLine(TLS_FLAGS, {});
  assert.ok(alone.kind === "run");
  assert.equal(alone.settings.tlsEcho, undefined, "off by default");
});

Deno.test("--tls-echo-port without --tls-cert and --tls-key is one line naming both", () => {
  assert.equal(
    parseOutcome(["--tls-echo-port", "4443"]),
    '--tls-echo-port: "4443" needs --tls-cert and --tls-key ' +
      "(ECHOSERVER__TLS__CERT_FILE, ECHOSERVER__TLS__KEY_FILE) as well",
  );
  assert.equal(
    parseOutcome([], { ECHOSERVER__TLS_ECHO_PORT: "4443" }),
    'ECHOSERVER__TLS_ECHO_PORT: "4443" needs --tls-cert and --tls-key ' +
      "(ECHOSERVER__TLS__CERT_FILE, ECHOSERVER__TLS__KEY_FILE) as well",
  );
  assert.equal(
    parseOutcome(["--tls-echo-port", "tls"]),
    '--tls-echo-port: "tls" is not an integer from 0 to 65535 with no leading zero',
  );
});

Deno.test("--tls-echo-port on the echo port itself is refused; two ports of 0 each get their own", () => {
  assert.equal(
    parseOutcome([
      ...TLS_FLAGS,
      "--echo-port",
      "4443",
      "--tls-echo-port",
      "4443",
    ]),
    '--tls-echo-port: "4443" is the echo port already; give another',
  );
  assert.equal(
    parseOutcome([...TLS_FLAGS, "--echo-port", "0", "--tls-echo-port", "0"]),
    "run",
  );
});

/** A listener whose accepts the test settles by hand, one at a time. */
class HandListener implements EchoListener {
  closed = false;
  #accepts: PromiseWithResolvers<EchoConn>[] = [];

  accept(): Promise<EchoConn> {
    const accept = Promise.withResolvers<EchoConn>();
    this.#accepts.push(accept);
    return accept.promise;
  }

  /** Settles the oldest accept with a client, which records its close. */
  client(port: number): EchoConn & { isClosed: boolean } {
    const conn = {
      isClosed: false,
      remoteAddr: { transport: "tcp" as const, hostname: "192.0.2.1", port },
      read: () => Promise.resolve(null),
      write: () => Promise.resolve(0),
      close() {
        conn.isClosed = true;
      },
    };
    this.#accepts.shift()!.resolve(conn);
    return conn;
  }

  fail(error: Error): void {
    this.#accepts.shift()!.reject(error);
  }

  /** How many accepts are waiting. */
  get waiting(): number {
    return this.#accepts.length;
  }

  close(): void {
    this.closed = true;
    for (const accept of this.#accepts.splice(0)) {
      accept.reject(new Deno.errors.BadResource("closed"));
    }
  }
}

Deno.test("mergeListeners() takes clients from each listener as they come, with one accept in flight per listener", async () => {
  const [a, b] = [new HandListener(), new HandListener()];
  const merged = mergeListeners([a, b]);
  const first = merged.accept();
  assert.deepEqual([a.waiting, b.waiting], [1, 1]);
  b.client(2);
  assert.equal((await first).remoteAddr.port, 2);
  const second = merged.accept();
  // a's accept is still the one in flight: no second one is begun.
  assert.deepEqual([a.waiting, b.waiting], [1, 1]);
  a.client(1);
  assert.equal((await second).remoteAddr.port, 1);
});

Deno.test("mergeListeners() rejects once with one listener's failed accept, and serves the other on", async () => {
  const [a, b] = [new HandListener(), new HandListener()];
  const merged = mergeListeners([a, b]);
  const failing = merged.accept();
  a.fail(new Deno.errors.NotConnected("one client gone"));
  await assert.rejects(failing, Deno.errors.NotConnected);
  const next = merged.accept();
  b.client(2);
  assert.equal((await next).remoteAddr.port, 2);
});

Deno.test("mergeListeners() on close closes each listener and every client not yet taken", async () => {
  const [a, b] = [new HandListener(), new HandListener()];
  const merged = mergeListeners([a, b]);
  const taken = merged.accept();
  const first = a.client(1);
  const untaken = b.client(2);
  assert.equal(await taken, first);
  await Promise.resolve(); // b's client arrives, and waits
  merged.close();
  assert.deepEqual([a.closed, b.closed], [true, true]);
  assert.equal(untaken.isClosed, true);
  assert.equal(first.isClosed, false, "a taken client is the server's");
  await assert.rejects(merged.accept(), Deno.errors.BadResource);
});

Deno.test("mergeListeners() closes a client accepted after close, and a waiting accept rejects", async () => {
  const [a, b] = [new HandListener(), new HandListener()];
  const merged = mergeListeners([a, b]);
  const waiting = merged.accept();
  // An accept that completes as the listener closes.
  let late: (EchoConn & { isClosed: boolean }) | undefined;
  const aClose = a.close.bind(a);
  a.close = () => {
    late = a.client(1);
    aClose();
  };
  merged.close();
  await assert.rejects(waiting, Deno.errors.BadResource);
  assert.equal(late?.isClosed, true);
});

test("startServer() with tlsEcho serves plain echo on the echo port and TLS echo on its own, counted by port", async () => {
  const shutdown = new AbortController();
  const metrics = createMetrics();
  const server = startServer(
    loopbackConfig({
      logLevel: "error",
      tls: { cert: CERTIFICATE.cert, key: CERTIFICATE.key },
      tlsEcho: { hostname: "127.0.0.1", port: 0 },
    }),
    { shutdown, metrics },
  );
  try {
    using plain = await connect(server.echoAddr);
    using tls = await Deno.connectTls({
      port: server.tlsEchoAddr!.port,
      caCerts: [CERTIFICATE.cert],
    });
    await assertEchoes(plain, "plain");
    await assertEchoes(tls, "over TLS");
    const samples = parseMetrics(await metrics.text.read());
    const byPort = "echoserver_echo_accepted_by_port_total";
    assert.equal(samples.get(`${byPort}{tls="false"}`), 1);
    assert.equal(samples.get(`${byPort}{tls="true"}`), 1);
  } finally {
    shutdown.abort("test over");
    await server.finished;
  }
});

test("startServer() with the TLS echo port in use throws a ListenError, leaving nothing open", () => {
  using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  assert.throws(
    () =>
      startServer(
        loopbackConfig({
          tls: { cert: CERTIFICATE.cert, key: CERTIFICATE.key },
          tlsEcho: { hostname: "127.0.0.1", port: taken.addr.port },
        }),
        { shutdown: new AbortController() },
      ),
    (error) =>
      error instanceof ListenError &&
      error.message.startsWith(
        `cannot listen on 127.0.0.1:${taken.addr.port}: `,
      ),
  );
  return Promise.resolve();
});

/** An interactive `openssl s_client` to a TLS echo port, trusting the test certificate. */
function opensslClient(port: number): ClientProcess {
  return new ClientProcess("openssl", [
    ...["s_client", "-connect", `127.0.0.1:${port}`],
    ...["-CAfile", CERTIFICATE.certFile, "-verify_return_error", "-quiet"],
  ]);
}

/** An interactive `nc` to a plain echo port. */
function ncClient(port: number): ClientProcess {
  return new ClientProcess("nc", ["127.0.0.1", `${port}`]);
}

/** Writes `text` and asserts that exactly it comes back. */
async function assertEchoed(client: ClientProcess, text: string) {
  await client.write(text);
  assert.deepEqual(await client.read(text.length), bytes(text));
}

/** The service's samples in /metrics. */
async function metrics(httpPort: number): Promise<Map<string, number>> {
  using client = Deno.createHttpClient({ caCerts: [CERTIFICATE.cert] });
  const response = await fetch(`https://127.0.0.1:${httpPort}/metrics`, {
    client,
  });
  return parseMetrics(await response.text());
}

/** The service with TLS echo on a port of its own; its ports. */
async function sideBySide(extra: string[] = []) {
  const service = new ServiceProcess(
    [...LOOPBACK_ANY_PORT, ...TLS_FLAGS, "--tls-echo-port", "0", ...extra],
    { permissions: PERMISSIONS },
  );
  const ports = await service.ports();
  const tlsLine = await service.stdout.waitFor("tls echo listening on ");
  const tls = Number(tlsLine.match(/:(\d+)$/)![1]);
  return { service, ports: { ...ports, tls } };
}

test(
  "with --tls-echo-port, nc gets plain echo and openssl s_client TLS echo, side by side, each with the banner",
  async () => {
    const { service, ports } = await sideBySide(["--banner", "pod-a"]);
    await using _service = service;
    assert.deepEqual(service.stdout.lines, [
      `echo listening on 127.0.0.1:${ports.echo}`,
      `http listening on https://127.0.0.1:${ports.http}/`,
      `tls echo listening on tls://127.0.0.1:${ports.tls}`,
    ]);
    await using nc = ncClient(ports.echo);
    await using openssl = opensslClient(ports.tls);
    assert.deepEqual(await nc.read(6), bytes("pod-a\n"));
    assert.deepEqual(await openssl.read(6), bytes("pod-a\n"));
    await assertEchoed(nc, "plain text\n");
    await assertEchoed(openssl, "over TLS\n");
    await assertEchoed(nc, "still plain\n");

    const samples = await metrics(ports.http);
    const byPort = "echoserver_echo_accepted_by_port_total";
    assert.equal(samples.get(`${byPort}{tls="false"}`), 1);
    assert.equal(samples.get(`${byPort}{tls="true"}`), 1);
    assert.equal(samples.get("echoserver_echo_connections_accepted_total"), 2);
    assert.equal(samples.get("echoserver_echo_connections_open"), 2);
    // Only the banner's 6 bytes are left out of the echoed ones.
    assert.equal(samples.get("echoserver_echo_bytes_total"), 11 + 9 + 12);
  },
  20_000,
);

test(
  "the plain and the TLS echo port share --max-connections: a client of either over it is closed at once",
  async () => {
    const { service, ports } = await sideBySide(["--max-connections", "2"]);
    await using _service = service;
    await using nc = ncClient(ports.echo);
    await using openssl = opensslClient(ports.tls);
    await assertEchoed(nc, "one\n");
    // A TLS client that has spoken is not one a newcomer may replace.
    await assertEchoed(openssl, "two\n");
    for (const port of [ports.echo, ports.tls]) {
      using extra = await Deno.connect({ hostname: "127.0.0.1", port });
      assert.equal(await extra.read(new Uint8Array(1)), null, `${port}`);
    }
    const samples = await metrics(ports.http);
    assert.equal(samples.get("echoserver_echo_connections_rejected_total"), 2);
    assert.equal(samples.get("echoserver_echo_connections_open"), 2);
    await assertEchoed(nc, "one still\n");
    await assertEchoed(openssl, "two still\n");
  },
  20_000,
);

test(
  "the plain and the TLS echo port share the idle timeout: silent clients of both are dropped after 1 s, not 2",
  async () => {
    const { service, ports } = await sideBySide(["--idle-timeout", "1"]);
    await using _service = service;
    const started = performance.now();
    const silent = await Promise.all(
      [ports.echo, ports.tls].map(async (port) => {
        using conn = await Deno.connect({ hostname: "127.0.0.1", port });
        await conn.read(new Uint8Array(1));
        return performance.now() - started;
      }),
    );
    for (const ms of silent) assert.ok(ms >= 900 && ms < 1900, `${ms} ms`);
    const samples = await metrics(ports.http);
    assert.equal(
      samples.get('echoserver_echo_connections_ended_total{reason="idle"}'),
      2,
    );
  },
  20_000,
);

test(
  "--tls-cert alone keeps TLS on the echo port, with no second port and every client counted as tls",
  async () => {
    await using service = new ServiceProcess(
      [...LOOPBACK_ANY_PORT, ...TLS_FLAGS],
      { permissions: PERMISSIONS },
    );
    const ports = await service.ports();
    await using openssl = opensslClient(ports.echo);
    await assertEchoed(openssl, "tls as before\n");
    const samples = await metrics(ports.http);
    const byPort = "echoserver_echo_accepted_by_port_total";
    assert.equal(samples.get(`${byPort}{tls="true"}`), 1);
    assert.equal(samples.has(`${byPort}{tls="false"}`), false);
    assert.equal(service.stdout.lines.length, 2);
    assert.deepEqual(
      (await service.listeningAddresses()).filter((address) =>
        address.startsWith("127.0.0.1:") &&
        ![ports.echo, ports.http].includes(Number(address.split(":")[1]))
      ).length,
      // The inner TLS and HTTPS listeners, on 127.0.0.1 too.
      2,
    );
  },
  20_000,
);
