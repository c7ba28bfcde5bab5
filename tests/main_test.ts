import assert from "node:assert/strict";
import denoConfig from "../deno.json" with { type: "json" };
import { assertEchoes, connect } from "./_echo_client.ts";
import { inspect, INSPECT_FLAGS } from "./_inspector.ts";
import {
  assertRefusesToStart,
  LOOPBACK_ANY_PORT,
  SERVICE_PERMISSIONS,
  ServiceProcess,
} from "./_service_process.ts";
import { makeTempDir, run } from "./_temp_files.ts";
import { test, TEST_TIME_LIMIT_MS, withinTimeLimit } from "./_time_limit.ts";
import { freePort } from "./_free_port.ts";

/** A client connected to `port` that has had `text` echoed. */
async function echoClient(port: number, text: string): Promise<Deno.TcpConn> {
  const conn = await connect(port);
  await assertEchoes(conn, text);
  return conn;
}

test("main.ts prints its ports, echoes, answers health checks and exits 0 after POST /die", async () => {
  await using service = new ServiceProcess(LOOPBACK_ANY_PORT);
  const ports = await service.ports();
  assert.equal(
    service.stdout.lines[0],
    `echo listening on 127.0.0.1:${ports.echo}`,
  );
  assert.equal(
    service.stdout.lines[1],
    `http listening on http://127.0.0.1:${ports.http}/`,
  );
  using conn = await echoClient(ports.echo, "hey there\n");
  const health = await fetch(`http://127.0.0.1:${ports.http}/healthcheck`);
  assert.equal(await health.text(), "ok computer");
  const die = await fetch(`http://127.0.0.1:${ports.http}/die`, {
    method: "POST",
  });
  assert.equal(await die.text(), "bye bye");
  assert.equal((await service.status).code, 0);
  assert.equal(await conn.read(new Uint8Array(1)), null);
  assert.ok(
    service.stderr.lines.includes('info: shutting down reason="POST /die"'),
  );
});

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  test(`main.ts exits 0 on ${signal}, closing open echo connections`, async () => {
    await using service = new ServiceProcess(LOOPBACK_ANY_PORT);
    using conn = await echoClient((await service.ports()).echo, "open");
    service.kill(signal);
    assert.equal((await service.status).code, 0);
    assert.equal(await conn.read(new Uint8Array(1)), null);
    assert.ok(
      service.stderr.lines.includes(`info: shutting down reason=${signal}`),
    );
  });
}

test("main.ts exits 1 naming the address when the port is in use", async () => {
  using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  await using service = new ServiceProcess([
    "--echo-host",
    "127.0.0.1",
    "--echo-port",
    `${taken.addr.port}`,
  ]);
  assert.equal((await service.status).code, 1);
  assert.equal(service.stderr.lines.length, 1);
  assert.match(
    service.stderr.lines[0],
    new RegExp(
      `^echoserver: cannot listen on 127\\.0\\.0\\.1:${taken.addr.port}: Address already in use`,
    ),
  );
});

test("main.ts exits 1 with one line when it lacks the net permission", async () => {
  await using service = new ServiceProcess(LOOPBACK_ANY_PORT, {
    permissions: ["--allow-env"],
  });
  assert.equal((await service.status).code, 1);
  assert.equal(service.stderr.lines.length, 1);
  assert.match(
    service.stderr.lines[0],
    /^echoserver: cannot listen on 127\.0\.0\.1:0: .*net/,
  );
});

test("main.ts granted --allow-read, as deno task start grants it, can read no file once it listens", async () => {
  await using service = new ServiceProcess(LOOPBACK_ANY_PORT, {
    permissions: [...SERVICE_PERMISSIONS, "--allow-read"],
    runFlags: INSPECT_FLAGS,
  });
  {
    await using inspector = await inspect(service);
    await service.ports();
    const attempt = (call: string) =>
      inspector.evaluate(
        `(() => { try { ${call}; return "done"; } catch (error) { return error.name; } })()`,
      );
    const file = JSON.stringify(
      new URL("../deno.json", import.meta.url).pathname,
    );
    assert.equal(await attempt(`Deno.readTextFileSync(${file})`), "NotCapable");
    assert.equal(await attempt(`Deno.statSync("/")`), "NotCapable");
    // The same probe finds what it keeps: the network.
    assert.equal(
      await attempt(`Deno.listen({ hostname: "127.0.0.1", port: 0 }).close()`),
      "done",
    );
    service.kill("SIGTERM");
  }
  assert.equal((await service.status).code, 0);
});

test("main.ts exits 2 with one line for a bad flag or environment variable", async () => {
  for (
    const [args, env, message] of [
      [["--echo-prot", "4000"], {}, "unknown option --echo-prot"],
      [
        ["--http-port", "99999"],
        {},
        '--http-port: "99999" is not an integer from 0 to 65535 with no leading zero',
      ],
      [
        [],
        { ECHOSERVER__LOG_LEVEL: "chatty" },
        'ECHOSERVER__LOG_LEVEL: "chatty" is not one of',
      ],
    ] as const
  ) {
    await using service = new ServiceProcess([...args], { env });
    await assertRefusesToStart(service, 2, message);
  }
});

test("main.ts refuses, with exit 2 and one line, an HTTP address off loopback with no die token, and nothing listens", async () => {
  // Ports known to be free, to see that they stay so.
  const ports = [0, 0].map(() => freePort({ hostname: "0.0.0.0" }));
  await using service = new ServiceProcess([
    ...["--echo-host", "0.0.0.0", "--echo-port", `${ports[0]}`],
    ...["--http-port", `${ports[1]}`],
  ], { env: { ECHOSERVER__HTTP_HOST: "0.0.0.0" } });
  await assertRefusesToStart(
    service,
    2,
    "--http-host 0.0.0.0 is off loopback with no die token: anyone who " +
      "reaches it could stop the service with POST /die; give " +
      "--die-token-file (or --die-token), or an --http-host on loopback",
  );
  for (const port of ports) {
    await assert.rejects(
      Deno.connect({ hostname: "127.0.0.1", port }),
      Deno.errors.ConnectionRefused,
      `port ${port}`,
    );
  }
});

test("main.ts refuses, with exit 2 and one line, DENO_SERVE_ADDRESS, and nothing listens where it says", async () => {
  const port = freePort({ hostname: "0.0.0.0" });
  for (
    const address of [`tcp:0.0.0.0:${port}`, `duplicate,tcp:0.0.0.0:${port}`]
  ) {
    await using service = new ServiceProcess(LOOPBACK_ANY_PORT, {
      env: { DENO_SERVE_ADDRESS: address },
    });
    await assertRefusesToStart(
      service,
      2,
      `DENO_SERVE_ADDRESS: "${address}" would serve HTTP from inside the ` +
        "service, past the public port's limits and the die token's address " +
        "check; unset it",
    );
    await assert.rejects(
      Deno.connect({ hostname: "127.0.0.1", port }),
      Deno.errors.ConnectionRefused,
    );
  }
});

test("main.ts exits 2 within a second, with one line, for a setting file that is a device or a FIFO", async () => {
  const fifo = `${await makeTempDir()}/fifo`;
  await run("mkfifo", [fifo]);
  for (
    const [args, message] of [
      [
        ["--die-token-file", "/dev/zero"],
        '--die-token-file: "/dev/zero" is not a regular file but a character device',
      ],
      [
        ["--die-token-file", "/dev/urandom"],
        '--die-token-file: "/dev/urandom" is not a regular file but a character device',
      ],
      [
        ["--tls-cert", "/dev/zero", "--tls-key", "/dev/zero"],
        '--tls-cert: "/dev/zero" is not a regular file but a character device',
      ],
      [
        ["--die-token-file", fifo],
        `--die-token-file: "${fifo}" is not a regular file but a FIFO`,
      ],
    ] as const
  ) {
    await using service = new ServiceProcess([...args], {
      permissions: ["--allow-net", "--allow-env", "--allow-read"],
    });
    await withinTimeLimit(service.exited, 1_000, args.join(" "));
    await assertRefusesToStart(service, 2, message);
  }
});

test("main.ts exits 1 saying it was stdout when its startup lines cannot be written", async () => {
  for (const args of [LOOPBACK_ANY_PORT, ["--version"]]) {
    // The shell gives it /dev/full for stdout: every write fails with ENOSPC.
    const { code, stdout, stderr } = await new Deno.Command("sh", {
      args: [
        "-c",
        'exec "$0" run --allow-net --allow-env main.ts "$@" > /dev/full',
        Deno.execPath(),
        ...args,
      ],
      cwd: new URL("..", import.meta.url).pathname,
      clearEnv: true,
      env: {
        ...Object.fromEntries(
          Object.entries(Deno.env.toObject()).filter(([name]) =>
            !name.startsWith("ECHOSERVER__")
          ),
        ),
        NO_COLOR: "1",
      },
      stdin: "null",
      signal: AbortSignal.timeout(TEST_TIME_LIMIT_MS),
    }).output();
    assert.equal(code, 1, args.join(" "));
    assert.deepEqual(stdout, new Uint8Array());
    assert.equal(
      new TextDecoder().decode(stderr),
      "echoserver: cannot write to standard output: No space left on device (os error 28)\n",
    );
  }
});

test("main.ts starts on a loopback HTTP address with no die token, however it is written", async () => {
  for (const host of ["127.1", "localhost", "::1"]) {
    await using service = new ServiceProcess([
      ...LOOPBACK_ANY_PORT,
      ...["--http-host", host],
    ]);
    const { http } = await service.ports();
    const response = await fetch(
      `http://${host === "::1" ? "[::1]" : "localhost"}:${http}/healthcheck`,
    );
    assert.equal(await response.text(), "ok computer", host);
  }
});

test("main.ts --help prints the usage and exits 0", async () => {
  await using service = new ServiceProcess(["--help"]);
  assert.equal((await service.status).code, 0);
  assert.equal(service.stdout.lines[0], "Usage: echoserver [options]");
  for (
    const text of [
      "--shutdown-delay SECONDS",
      "env ECHOSERVER__SHUTDOWN_DELAY__SECONDS, default 0",
      "--log-format FORMAT",
      "env ECHOSERVER__LOG_FORMAT, default text",
      "--version",
    ]
  ) {
    assert.ok(service.stdout.lines.some((line) => line.includes(text)), text);
  }
});

test("main.ts --version prints the version from deno.json and exits 0", async () => {
  await using service = new ServiceProcess(["--version"]);
  assert.equal((await service.status).code, 0);
  assert.deepEqual(service.stdout.lines, [`echoserver ${denoConfig.version}`]);
});

test("main.ts --log-format json writes one JSON object a line to stderr, and plain startup lines", async () => {
  await using service = new ServiceProcess([
    ...LOOPBACK_ANY_PORT,
    "--log-format",
    "json",
  ]);
  const ports = await service.ports();
  assert.match(service.stdout.lines[0], /^echo listening on 127\.0\.0\.1:/);
  const conn = await echoClient(ports.echo, "four");
  conn.close();
  await service.stderr.waitFor("connection ended");
  await fetch(`http://127.0.0.1:${ports.http}/die`, { method: "POST" })
    .then((response) => response.body?.cancel());
  assert.equal((await service.status).code, 0);

  const entries = service.stderr.lines.map((line) => JSON.parse(line));
  for (const { time, level, message } of entries) {
    assert.ok(!Number.isNaN(Date.parse(time)), time);
    assert.equal(level, "info");
    assert.equal(typeof message, "string");
  }
  const { time: _, duration_ms, remote, ...ended } = entries[0];
  assert.deepEqual(ended, {
    level: "info",
    message: "connection ended",
    client: 1,
    reason: "closed",
    bytes: 4,
  });
  assert.equal(typeof duration_ms, "number");
  assert.match(remote, /^127\.0\.0\.1:\d+$/);
  assert.equal(entries[1].message, "shutting down");
  assert.equal(entries[1].reason, "POST /die");
});

/** The status `path` answers on the service's HTTP port. */
async function status(port: number, path: string): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`);
  await response.body?.cancel();
  return response.status;
}

test("main.ts after SIGTERM with --shutdown-delay answers /readyz 503, serves on, and a second SIGTERM exits 143", async () => {
  await using service = new ServiceProcess([
    ...LOOPBACK_ANY_PORT,
    "--shutdown-delay",
    "600",
  ]);
  const ports = await service.ports();
  using before = await echoClient(ports.echo, "before");
  assert.equal(await status(ports.http, "/readyz"), 200);
  service.kill("SIGTERM");
  await service.stderr.waitFor("draining");
  assert.equal(await status(ports.http, "/readyz"), 503);
  assert.equal(await status(ports.http, "/livez"), 200);
  assert.equal(await status(ports.http, "/healthcheck"), 200);
  using during = await echoClient(ports.echo, "new clients still served");
  await echoClient(ports.echo, "and old ones").then((conn) => conn.close());
  service.kill("SIGTERM");
  assert.equal((await service.status).code, 143);
  assert.equal(await before.read(new Uint8Array(1)), null);
  assert.equal(await during.read(new Uint8Array(1)), null);
});

test("main.ts during --shutdown-delay stops at once on POST /die", async () => {
  await using service = new ServiceProcess([
    ...LOOPBACK_ANY_PORT,
    "--shutdown-delay",
    "600",
  ]);
  const ports = await service.ports();
  service.kill("SIGTERM");
  await service.stderr.waitFor("draining");
  await fetch(`http://127.0.0.1:${ports.http}/die`, { method: "POST" })
    .then((response) => response.body?.cancel());
  assert.equal((await service.status).code, 0);
  assert.ok(
    service.stderr.lines.includes('info: shutting down reason="POST /die"'),
  );
});

test("main.ts on SIGINT stops at once, without --shutdown-delay", async () => {
  await using service = new ServiceProcess([
    ...LOOPBACK_ANY_PORT,
    "--shutdown-delay",
    "600",
  ]);
  await service.ports();
  service.kill("SIGINT");
  assert.equal((await service.status).code, 0);
  assert.deepEqual(service.stderr.lines, [
    "info: shutting down reason=SIGINT",
  ]);
}, 10_000);

test("main.ts stops by itself once --shutdown-delay is over, and not before", async () => {
  await using service = new ServiceProcess([
    ...LOOPBACK_ANY_PORT,
    "--shutdown-delay",
    "0.5",
  ]);
  await service.ports();
  service.kill("SIGTERM");
  const sent = performance.now();
  assert.equal((await service.status).code, 0);
  // In a window that would catch twice the delay.
  const ms = performance.now() - sent;
  assert.ok(ms >= 500 && ms < 1_000, `exited ${Math.round(ms)} ms on`);
  assert.deepEqual(service.stderr.lines, [
    "info: draining: /readyz answers 503 until shutdown reason=SIGTERM shutdown_in_s=0.5",
    "info: shutting down reason=SIGTERM",
  ]);
});
