/**
 * No client holds a descriptor of the service past a deadline the service
 * sets (issue 19): silent and trickling TLS clients, slow HTTP clients and
 * idle keep-alive connections are cut at their deadlines, with the
 * descriptors freed, a client over the HTTP limit is closed at once, and a
 * response that says it closes the connection does. Each runs `main.ts` as
 * a process with 1 s deadlines, and asserts a window that would catch the
 * next power of two.
 */
import assert from "node:assert/strict";
import { bytes, connect } from "./_echo_client.ts";
import { readStatus } from "./_http_raw.ts";
import { parseMetrics } from "./_metrics_text.ts";
import { LOOPBACK_ANY_PORT, ServiceProcess } from "./_service_process.ts";
import { test } from "./_time_limit.ts";
import { CERTIFICATE } from "./_certificates.ts";

const TLS_FLAGS = [
  "--tls-cert",
  CERTIFICATE.certFile,
  "--tls-key",
  CERTIFICATE.keyFile,
];
const TLS_PERMISSIONS = [
  "--allow-net",
  "--allow-env",
  `--allow-read=${CERTIFICATE.certFile},${CERTIFICATE.keyFile}`,
];
/** Every deadline at 1 s. */
const ONE_SECOND = [
  "--idle-timeout",
  "1",
  "--http-idle-timeout",
  "1",
  "--http-request-timeout",
  "1",
];

/** The service on loopback with 1 s deadlines and `flags`; TLS with `tls`. */
function service(flags: string[] = [], tls = false): ServiceProcess {
  return new ServiceProcess(
    [...LOOPBACK_ANY_PORT, ...ONE_SECOND, ...(tls ? TLS_FLAGS : []), ...flags],
    tls ? { permissions: TLS_PERMISSIONS } : {},
  );
}

/**
 * Milliseconds from `since` until the server closed `conn`, reading (and
 * dropping) whatever it sent first.
 */
async function closedAfter(conn: Deno.Conn, since: number): Promise<number> {
  const buffer = new Uint8Array(4096);
  while (await conn.read(buffer).catch(() => null) !== null);
  return performance.now() - since;
}

/** Asserts that `ms` is within [from, to): a deadline kept, and no later. */
function assertWithin(ms: number, from: number, to: number, what: string) {
  assert.ok(ms >= from && ms < to, `${what}: ${Math.round(ms)} ms`);
}

/**
 * Writes `data` a byte at a time, `gapMs` apart, until done or cut; how many
 * bytes went out.
 */
async function trickle(
  conn: Deno.Conn,
  data: Uint8Array,
  gapMs: number,
): Promise<number> {
  for (let i = 0; i < data.length; i++) {
    try {
      await conn.write(data.subarray(i, i + 1));
    } catch {
      return i;
    }
    await new Promise((resolve) => setTimeout(resolve, gapMs));
  }
  return data.length;
}

/** Polls until the service holds `count` sockets, for 2 s at most: how many. */
async function socketsReach(
  service: ServiceProcess,
  count: number,
): Promise<number> {
  let now = await service.sockets();
  for (let tries = 0; now !== count && tries < 100; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    now = await service.sockets();
  }
  return now;
}

test(
  "silent TLS echo clients are closed at the idle deadline, and every descriptor of theirs is freed",
  async () => {
    await using tls = service([], true);
    const { echo } = await tls.ports();
    const baseline = await tls.sockets();
    const since = performance.now();
    const clients = await Promise.all(
      Array.from({ length: 50 }, () => connect(echo)),
    );
    // Three sockets each: the client's own, the relay's, the inner TLS one.
    assert.equal(await socketsReach(tls, baseline + 150), baseline + 150);
    const closed = await Promise.all(
      clients.map((client) => closedAfter(client, since)),
    );
    for (const ms of closed) assertWithin(ms, 900, 1_900, "closed after");
    for (const client of clients) client.close();
    // Still open to us, the clients, but not to the service.
    assert.equal(await socketsReach(tls, baseline), baseline);
  },
  20_000,
);

test(
  "a TLS client that trickles its ClientHello a byte at a time is cut at the idle deadline",
  async () => {
    await using tls = service([], true);
    const { echo } = await tls.ports();
    const baseline = await tls.sockets();
    using client = await connect(echo);
    const since = performance.now();
    // A ClientHello record header promising 512 bytes, then its body, slowly.
    const hello = new Uint8Array(517);
    hello.set([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]);
    const sent = trickle(client, hello, 100);
    assertWithin(await closedAfter(client, since), 900, 1_900, "cut after");
    assert.ok(await sent < hello.length);
    assert.equal(await socketsReach(tls, baseline), baseline);
  },
  20_000,
);

test(
  "an HTTP head trickled a byte at a time, a slow body and an idle keep-alive connection hold three sockets each and are each cut at their deadline",
  async () => {
    await using http = service();
    const port = (await http.ports()).http;
    const baseline = await http.sockets();

    using slowloris = await connect(port);
    using slowBody = await connect(port);
    using keptAlive = await connect(port);
    const since = performance.now();
    const head = bytes(
      "GET /healthcheck HTTP/1.1\r\nHost: x\r\nX-a: b\r\n\r\n",
    );
    const trickles = [trickle(slowloris, head, 100)];
    await slowBody.write(
      bytes("POST /die HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n"),
    );
    trickles.push(trickle(slowBody, new Uint8Array(100).fill(97), 100));
    await keptAlive.write(
      bytes("GET /healthcheck HTTP/1.1\r\nHost: x\r\n\r\n"),
    );
    assert.equal(await readStatus(keptAlive), 200);
    const answeredAt = performance.now();
    // Three sockets each: the client's own, the relay's, the inner server's.
    assert.equal(await socketsReach(http, baseline + 9), baseline + 9);

    const [head_, body, idle] = await Promise.all([
      closedAfter(slowloris, since),
      closedAfter(slowBody, since),
      closedAfter(keptAlive, answeredAt),
    ]);
    assertWithin(head_, 900, 1_900, "trickled head cut after");
    assertWithin(body, 900, 1_900, "slow body cut after");
    assertWithin(idle, 900, 1_900, "idle keep-alive closed after");
    // Each trickle was cut short.
    for (const sent of await Promise.all(trickles)) assert.ok(sent < 40);
    assert.equal(await socketsReach(http, baseline), baseline);

    const metrics = parseMetrics(
      await (await fetch(`http://127.0.0.1:${port}/metrics`)).text(),
    );
    const ended = (reason: string) =>
      metrics.get(
        `echoserver_http_connections_ended_total{reason="${reason}"}`,
      );
    assert.equal(ended("request_timeout"), 2);
    assert.equal(ended("idle"), 1);
  },
  20_000,
);

test(
  "an HTTP client over --http-max-connections takes the place of a silent one, and is closed at once when every one has a request in flight",
  async () => {
    await using http = service(["--http-max-connections", "2"]);
    const port = (await http.ports()).http;
    // A body that never ends keeps POST /die's request in flight.
    const slowDie =
      "POST /die HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\na";
    // A health check, and pipelined behind it a request that stays in
    // flight: once the first is answered, the second has begun.
    const busyRequests = bytes(
      "GET /healthcheck HTTP/1.1\r\nHost: x\r\n\r\n" + slowDie,
    );
    using busy = await connect(port);
    await busy.write(busyRequests);
    assert.equal(await readStatus(busy), 200);
    using silent = await connect(port);
    const since = performance.now();
    using fresh = await connect(port);
    await fresh.write(busyRequests);
    assert.equal(await readStatus(fresh), 200);
    // The silent one made room at once, not at its idle deadline.
    assert.ok(await closedAfter(silent, since) < 500);
    using over = await connect(port);
    const overSince = performance.now();
    await over.write(bytes("GET /healthcheck HTTP/1.1\r\nHost: x\r\n\r\n"))
      .catch(() => {});
    assert.equal(await readStatus(over), "closed");
    assert.ok(performance.now() - overSince < 500, "closed at once");
    await http.stderr.waitFor(
      "warning: http connection limit reached max_connections=2",
    );
  },
  20_000,
);

test(
  "a 400 for a bad Host closes its connection: the next request on it gets nothing",
  async () => {
    await using http = service();
    const port = (await http.ports()).http;
    using conn = await connect(port);
    await conn.write(
      bytes("GET /healthcheck HTTP/1.1\r\nHost: x/die?\r\n\r\n"),
    );
    assert.equal(await readStatus(conn), 400);
    await conn.write(bytes("GET /healthcheck HTTP/1.1\r\nHost: x\r\n\r\n"))
      .catch(() => {});
    const since = performance.now();
    // Closed by the server at once, not by the idle deadline 1 s on.
    assert.ok(await closedAfter(conn, since) < 500);
    const again = await connect(port);
    await again.write(bytes("GET /healthcheck HTTP/1.1\r\nHost: x\r\n\r\n"));
    assert.equal(await readStatus(again), 200);
    again.close();
  },
  20_000,
);
