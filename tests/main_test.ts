import assert from "node:assert/strict";
import { readExactly } from "./_read.ts";
import { LOOPBACK_ANY_PORT, ServiceProcess } from "./_service_process.ts";

async function assertEchoes(port: number, text: string): Promise<Deno.TcpConn> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const data = new TextEncoder().encode(text);
  await conn.write(data);
  assert.deepEqual(await readExactly(conn, data.length), data);
  return conn;
}

Deno.test("main.ts prints its ports, echoes, answers health checks and exits 0 after POST /die", async () => {
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
  using conn = await assertEchoes(ports.echo, "hey there\n");
  const health = await fetch(`http://127.0.0.1:${ports.http}/healthcheck`);
  assert.equal(await health.text(), "ok computer");
  const die = await fetch(`http://127.0.0.1:${ports.http}/die`, {
    method: "POST",
  });
  assert.equal(await die.text(), "bye bye");
  assert.equal((await service.status).code, 0);
  assert.equal(await conn.read(new Uint8Array(1)), null);
  assert.ok(service.stderr.lines.includes("info: shutting down: POST /die"));
});

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  Deno.test(`main.ts exits 0 on ${signal}, closing open echo connections`, async () => {
    await using service = new ServiceProcess(LOOPBACK_ANY_PORT);
    using conn = await assertEchoes((await service.ports()).echo, "open");
    service.kill(signal);
    assert.equal((await service.status).code, 0);
    assert.equal(await conn.read(new Uint8Array(1)), null);
    assert.ok(service.stderr.lines.includes(`info: shutting down: ${signal}`));
  });
}

Deno.test("main.ts exits 1 naming the address when the port is in use", async () => {
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

Deno.test("main.ts exits 1 with one line when it lacks the net permission", async () => {
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

Deno.test("main.ts exits 2 with one line for a bad flag or environment variable", async () => {
  for (
    const [args, env, message] of [
      [["--echo-prot", "4000"], {}, "unknown option --echo-prot"],
      [
        ["--http-port", "99999"],
        {},
        '--http-port: "99999" is not an integer from 0 to 65535',
      ],
      [
        [],
        { ECHOSERVER__LOG_LEVEL: "chatty" },
        'ECHOSERVER__LOG_LEVEL: "chatty" is not one of',
      ],
    ] as const
  ) {
    await using service = new ServiceProcess([...args], { env });
    assert.equal((await service.status).code, 2);
    assert.equal(
      service.stderr.lines.length,
      1,
      service.stderr.lines.join("\n"),
    );
    assert.ok(
      service.stderr.lines[0].startsWith(`echoserver: ${message}`),
      service.stderr.lines[0],
    );
  }
});

Deno.test("main.ts --help prints the usage and exits 0", async () => {
  await using service = new ServiceProcess(["--help"]);
  assert.equal((await service.status).code, 0);
  assert.equal(service.stdout.lines[0], "Usage: echoserver [options]");
  assert.ok(
    service.stdout.lines.some((line) =>
      line.includes("ECHOSERVER__IDLE_TIMEOUT__SECONDS")
    ),
  );
});
