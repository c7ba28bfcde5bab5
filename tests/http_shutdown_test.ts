/**
 * Shutdown is bounded whatever HTTP clients do: a client that never finishes
 * its request, or an HTTP/2 client that never answers, is cut at the drain
 * deadline, however shutdown begins, and the process exits with nobody left.
 */
import assert from "node:assert/strict";
import { assertEchoes, bytes, connect } from "./_echo_client.ts";
import { halfSentBody } from "./_http_raw.ts";
import { LOOPBACK_ANY_PORT, ServiceProcess } from "./_service_process.ts";
import { test } from "./_time_limit.ts";

/** Long enough for shutdown to hang on a broken bound, short enough for CI. */
const LIMIT_MS = 15_000;

/**
 * A chunked POST /die whose body comes a byte every 100 ms: `/die` reads a
 * body of unknown length to cap it, so this request stays in flight until
 * the server cuts its connection; `trickled` settles then.
 */
async function trickledBody(
  port: number,
): Promise<{ conn: Deno.TcpConn; trickled: Promise<void> }> {
  const conn = await connect(port);
  await conn.write(bytes(
    "POST /die HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
  ));
  const trickled = (async () => {
    try {
      for (let i = 0; i < 1000; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        await conn.write(bytes("1\r\na\r\n"));
      }
    } catch {
      // Cut by the server: what the test waits for.
    }
  })();
  return { conn, trickled };
}

/**
 * An HTTP/2 client with prior knowledge: it sends the preface and its
 * settings, then reads nothing and answers nothing, not even a PING.
 */
async function silentHttp2(port: number): Promise<Deno.TcpConn> {
  const conn = await connect(port);
  const preface = bytes("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
  const emptySettings = Uint8Array.of(0, 0, 0, 4, 0, 0, 0, 0, 0);
  await conn.write(new Uint8Array([...preface, ...emptySettings]));
  return conn;
}

/**
 * Asks for a health check: once it is answered, requests sent before it on
 * other connections have reached the server too.
 */
async function healthCheck(port: number): Promise<void> {
  const response = await fetch(`http://127.0.0.1:${port}/healthcheck`);
  assert.equal(await response.text(), "ok computer");
}

async function die(port: number): Promise<void> {
  const response = await fetch(`http://127.0.0.1:${port}/die`, {
    method: "POST",
  });
  assert.equal(await response.text(), "bye bye");
}

/** Resolves once the server has closed `conn`, reading whatever it sent. */
async function closedByServer(conn: Deno.Conn): Promise<void> {
  const buffer = new Uint8Array(4096);
  try {
    while (await conn.read(buffer) !== null);
  } catch {
    // A reset is a close too.
  }
}

const triggers: [
  string,
  string[],
  (service: ServiceProcess, http: number) => Promise<void>,
][] = [
  ["SIGTERM", [], (service) => Promise.resolve(service.kill("SIGTERM"))],
  ["POST /die", [], (_, http) => die(http)],
  [
    "POST /die during --shutdown-delay",
    ["--shutdown-delay", "600"],
    async (service, http) => {
      service.kill("SIGTERM");
      await service.stderr.waitFor("draining");
      await die(http);
    },
  ],
];

/** The line that says `count` connections were cut at the drain deadline. */
const cutLine = (count: number) =>
  `warning: http connections still open at the drain deadline: closing them count=${count} drain_ms=1000`;

/**
 * Asserts that an exit came `ms` after shutdown began, at the drain deadline
 * of 1 s: in a window that would catch 2 s, or an exit that did not wait.
 */
function assertDrainedInOneSecond(ms: number): void {
  assert.ok(ms >= 900 && ms < 1_900, `exited ${Math.round(ms)} ms on`);
}

/** Asserts that stderr holds only the service's own lines: no stack trace. */
function assertOwnLines(service: ServiceProcess): void {
  for (const line of service.stderr.lines) {
    assert.match(line, /^(debug|info|warning|error): /, line);
  }
}

for (const [name, flags, trigger] of triggers) {
  test(
    `on ${name}, clients sending a half-sent or a trickled body are cut at the drain deadline, 1 s on, and the exit is 0`,
    async () => {
      await using service = new ServiceProcess([
        ...LOOPBACK_ANY_PORT,
        ...flags,
      ]);
      const { http } = await service.ports();
      using halfSent = await halfSentBody(http);
      const { conn: trickling, trickled } = await trickledBody(http);
      using _ = trickling;
      await healthCheck(http);

      await trigger(service, http);
      const triggered = performance.now();
      assert.equal((await service.status).code, 0);
      assertDrainedInOneSecond(performance.now() - triggered);
      assert.ok(
        service.stderr.lines.includes(cutLine(2)),
        service.stderr.lines.join("\n"),
      );
      assertOwnLines(service);
      await closedByServer(halfSent);
      await trickled;
    },
    LIMIT_MS,
  );
}

test(
  "on SIGTERM, a silent HTTP/2 client is cut at the drain deadline, 1 s on, and the exit is 0",
  async () => {
    await using service = new ServiceProcess(LOOPBACK_ANY_PORT);
    const { http } = await service.ports();
    using silent = await silentHttp2(http);
    await healthCheck(http);
    service.kill("SIGTERM");
    const triggered = performance.now();
    assert.equal((await service.status).code, 0);
    assertDrainedInOneSecond(performance.now() - triggered);
    assert.ok(
      service.stderr.lines.includes(cutLine(1)),
      service.stderr.lines.join("\n"),
    );
    await closedByServer(silent);
  },
  LIMIT_MS,
);

test(
  "once shutdown begins, the HTTP port refuses connections, an idle keep-alive one is closed, and a quiet shutdown cuts nobody and waits for no deadline",
  async () => {
    await using service = new ServiceProcess(LOOPBACK_ANY_PORT);
    const { http } = await service.ports();
    using keptAlive = await connect(http);
    await keptAlive.write(
      bytes("GET /healthcheck HTTP/1.1\r\nHost: x\r\n\r\n"),
    );
    assert.match(await readResponse(keptAlive), /^HTTP\/1\.1 200 /);
    service.kill("SIGTERM");
    const triggered = performance.now();
    // Closed by the server, with nothing more to read.
    assert.equal(await readResponse(keptAlive), "");
    assert.equal((await service.status).code, 0);
    // Nobody to cut: no wait for the drain deadline.
    const ms = performance.now() - triggered;
    assert.ok(ms < 900, `exited ${Math.round(ms)} ms on`);
    await assert.rejects(connect(http), Deno.errors.ConnectionRefused);
    assert.ok(
      !service.stderr.lines.some((line) => line.includes("drain deadline")),
    );
  },
  LIMIT_MS,
);

/** Reads one response head and body, or "" when the server closes first. */
async function readResponse(conn: Deno.Conn): Promise<string> {
  const buffer = new Uint8Array(4096);
  let text = "";
  const decoder = new TextDecoder();
  while (true) {
    const size = await conn.read(buffer);
    if (size === null) return text;
    text += decoder.decode(buffer.subarray(0, size));
    const [head, body] = text.split("\r\n\r\n", 2);
    const length = head.match(/\r\ncontent-length: (\d+)/i)?.[1];
    if (body !== undefined && body.length >= Number(length ?? 0)) return text;
  }
}

test(
  "SIGHUP stops the service at once, ignoring --shutdown-delay, and the exit is 0",
  async () => {
    await using service = new ServiceProcess([
      ...LOOPBACK_ANY_PORT,
      "--shutdown-delay",
      "600",
    ]);
    const { echo } = await service.ports();
    using conn = await connect(echo);
    await assertEchoes(conn, "accepted");
    service.kill("SIGHUP");
    assert.equal((await service.status).code, 0);
    assert.equal(await conn.read(new Uint8Array(1)), null);
    assert.ok(
      service.stderr.lines.includes("info: shutting down reason=SIGHUP"),
    );
  },
  LIMIT_MS,
);
