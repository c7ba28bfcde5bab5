/**
 * What main.ts, run as its own process, does with each signal: the stopping
 * ones stop it (a second one exits at once, with the code the README
 * gives), and the ones it ignores open nothing, stop nothing and leave only
 * its own lines on stderr.
 */
import assert from "node:assert/strict";
import { assertEchoes, connect } from "./_echo_client.ts";
import { halfSentBody } from "./_http_raw.ts";
import { LOOPBACK_ANY_PORT, ServiceProcess } from "./_service_process.ts";
import { test } from "./_time_limit.ts";

/** The service on loopback, logging warnings and errors only. */
const QUIET = [...LOOPBACK_ANY_PORT, "--log-level", "warning"];

/**
 * The first stderr line containing `text`, once written; fails at once if the
 * process exits first (as one killed by a signal it should ignore does).
 */
async function logged(service: ServiceProcess, text: string): Promise<string> {
  const exited = service.exited.then((status) => {
    throw new Error(`exited (${JSON.stringify(status)}) before "${text}"`);
  });
  exited.catch(() => {}); // the line came first
  return await Promise.race([service.stderr.waitFor(text), exited]);
}

/** Asserts that the service echoes and answers its health check. */
async function assertServes(ports: { echo: number; http: number }) {
  using conn = await connect(ports.echo);
  await assertEchoes(conn, "still here\n");
  const response = await fetch(`http://127.0.0.1:${ports.http}/healthcheck`);
  assert.equal(await response.text(), "ok computer");
}

test("main.ts ignores SIGUSR2 and SIGALRM with a warning each, opens no port, and serves on", async () => {
  await using service = new ServiceProcess(QUIET);
  const ports = await service.ports();
  const listening = await service.listeningAddresses();
  // Its two ports, and the HTTP server inside that the HTTP port relays to.
  assert.equal(listening.length, 3, listening.join(" "));
  for (const port of [ports.echo, ports.http]) {
    assert.ok(listening.includes(`127.0.0.1:${port}`), `${port}`);
  }
  for (const signal of ["SIGUSR2", "SIGALRM"] as const) {
    service.kill(signal);
    await logged(service, `signal ignored signal=${signal}`);
    assert.deepEqual(await service.listeningAddresses(), listening, signal);
    await assertServes(ports);
  }
  service.kill("SIGTERM");
  assert.equal((await service.status).code, 0);
  assert.deepEqual(service.stderr.lines, [
    "warning: signal ignored signal=SIGUSR2",
    "warning: signal ignored signal=SIGALRM",
  ]);
});

/**
 * What Deno itself prints when it opens its inspector: under `deno run`, on
 * a SIGUSR1 that comes half a second or more after the process started.
 */
const INSPECTOR_BANNER = [
  /^Debugger listening on ws:\/\/127\.0\.0\.1:9229\/[0-9a-f-]{36}$/,
  /^Visit chrome:\/\/inspect to connect to the debugger\.$/,
];

test("main.ts ignores SIGUSR1 with a warning and serves on; only Deno's own inspector may open", async () => {
  await using service = new ServiceProcess(QUIET);
  const ports = await service.ports();
  const listening = await service.listeningAddresses();
  // As soon as it is ready: most often before Deno listens to SIGUSR1 itself.
  service.kill("SIGUSR1");
  await logged(service, "signal ignored signal=SIGUSR1");
  await assertServes(ports);
  // Deno's inspector, if it opened, is the one port more, and says so.
  const now = await service.listeningAddresses();
  const inspector = now.length > listening.length;
  assert.deepEqual(
    now,
    inspector ? [...listening, "127.0.0.1:9229"].sort() : listening,
  );
  service.kill("SIGTERM");
  assert.equal((await service.status).code, 0);
  const [ignored, ...rest] = service.stderr.lines;
  assert.equal(ignored, "warning: signal ignored signal=SIGUSR1");
  if (inspector) {
    for (const line of INSPECTOR_BANNER) assert.match(rest.shift()!, line);
  }
  assert.deepEqual(rest, []);
});

test("main.ts stops at once on SIGQUIT, without --shutdown-delay or a core dump", async () => {
  await using service = new ServiceProcess([
    ...LOOPBACK_ANY_PORT,
    "--shutdown-delay",
    "600",
  ]);
  await service.ports();
  service.kill("SIGQUIT");
  const status = await service.status;
  assert.deepEqual([status.code, status.signal], [0, null]);
  assert.deepEqual(service.stderr.lines, [
    "info: shutting down reason=SIGQUIT",
  ]);
});

for (
  const [signal, code] of [
    ["SIGINT", 130],
    ["SIGHUP", 129],
    ["SIGQUIT", 131],
  ] as const
) {
  test(`main.ts exits ${code} at once on a second ${signal} once shutdown has begun`, async () => {
    await using service = new ServiceProcess(LOOPBACK_ANY_PORT);
    const ports = await service.ports();
    // Keeps shutdown going for the drain's second: time for a second signal.
    using held = await halfSentBody(ports.http);
    await held.read(new Uint8Array(1024)); // its answer: it is in
    service.kill(signal);
    await logged(service, `shutting down reason=${signal}`);
    service.kill(signal);
    const again = performance.now();
    assert.equal((await service.status).code, code);
    // At once: not at the drain deadline, a second on.
    const ms = performance.now() - again;
    assert.ok(ms < 900, `exited ${Math.round(ms)} ms on`);
  });
}
