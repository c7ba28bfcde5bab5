import assert from "node:assert/strict";
import { assertEchoes, connect } from "./_echo_client.ts";
import { readExactly } from "./_read.ts";
import { LOOPBACK_ANY_PORT, ServiceProcess } from "./_service_process.ts";
import { test } from "./_time_limit.ts";

async function die(httpPort: number): Promise<void> {
  const response = await fetch(`http://127.0.0.1:${httpPort}/die`, {
    method: "POST",
  });
  assert.equal(await response.text(), "bye bye");
}

test("out of descriptors, the accept loop logs, backs off and serves again once some free up", async () => {
  await using service = new ServiceProcess(LOOPBACK_ANY_PORT, {
    maxDescriptors: 48,
  });
  const ports = await service.ports();
  // More clients than descriptors left: the kernel queues them, accept fails.
  const clients = [];
  for (let i = 0; i < 40; i++) clients.push(await connect(ports.echo));
  await service.stderr.waitFor(
    'warning: accept failed error="Too many open files',
  );
  const [early, late] = [clients.slice(0, 30), clients.slice(30)];
  for (const client of early) client.close();
  for (const client of late) {
    await assertEchoes(client, Uint8Array.of(1, 2, 3));
    client.close();
  }
  await die(ports.http);
  assert.equal((await service.status).code, 0);
  const warnings = service.stderr.lines.filter((line) =>
    line.includes("Too many open files")
  );
  assert.ok(warnings.length <= 2, `not rate-limited: ${warnings.length} lines`);
});

test("after a churn of connects, resets and disconnects, descriptors and memory return", async () => {
  await using service = new ServiceProcess([
    ...LOOPBACK_ANY_PORT,
    "--log-level",
    "info",
  ]);
  const ports = await service.ports();
  const warmUp = await connect(ports.echo);
  await assertEchoes(warmUp, new Uint8Array(64 * 1024));
  warmUp.close();
  await service.stderr.waitFor("client=1 remote=127.0.0.1:");
  const descriptors = await service.descriptors();
  const memory = await service.residentBytes();

  const churn = 3_000;
  for (let batch = 0; batch < churn; batch += 100) {
    await Promise.all(Array.from({ length: 100 }, async (_, i) => {
      const conn = await connect(ports.echo);
      switch (i % 3) {
        case 0: // a well-behaved client
          await assertEchoes(conn, new Uint8Array(1000).fill(i));
          break;
        case 1: // a reset: closed with echoed bytes still unread
          await conn.write(new Uint8Array(4096));
          await readExactly(conn, 1);
          break;
          // case 2: gone at once
      }
      conn.close();
    }));
  }
  // One line a connection says how it ended: then the server has let go of it.
  await service.stderr.waitFor("connection ended", churn + 1);
  assert.equal(await service.descriptors(), descriptors);
  const grown = (await service.residentBytes()) - memory;
  assert.ok(grown < 32 << 20, `resident memory grew by ${grown} bytes`);
  await die(ports.http);
  assert.equal((await service.status).code, 0);
});
