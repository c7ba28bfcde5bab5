/**
 * The HTTP side survives running out of file descriptors: its accept loop
 * backs off, and serves the clients waiting once descriptors are free.
 */
import assert from "node:assert/strict";
import { assertEchoes, connect } from "./_echo_client.ts";
import { rawHttpStatus } from "./_http_raw.ts";
import { parseMetrics } from "./_metrics_text.ts";
import { LOOPBACK_ANY_PORT, ServiceProcess } from "./_service_process.ts";
import { test } from "./_time_limit.ts";

/** A health check's status, or "closed" when the port refused or dropped it. */
function healthCheck(port: number): Promise<number | "closed"> {
  return rawHttpStatus(port, "GET /healthcheck HTTP/1.1\r\nHost: x\r\n\r\n")
    .catch(() => "closed" as const);
}

test("out of descriptors, the HTTP port backs off, serves the health check that waited once they are free, and the process lives on", async () => {
  await using service = new ServiceProcess(LOOPBACK_ANY_PORT, {
    maxDescriptors: 48,
  });
  const ports = await service.ports();
  // Echo clients take every descriptor left.
  const clients = [];
  for (let i = 0; i < 40; i++) clients.push(await connect(ports.echo));
  await service.stderr.waitFor("accept failed");
  // A knock on the HTTP port: its accept fails too, and it waits.
  const knock = healthCheck(ports.http);
  await service.stderr.waitFor("http accept failed");

  for (const client of clients.splice(0, 30)) client.close();
  const freedAt = performance.now();
  // Served within the longest back-off, 1 s, with room for a slow machine.
  assert.equal(await knock, 200);
  const waitedMs = performance.now() - freedAt;
  assert.ok(waitedMs < 2_000, `served ${waitedMs} ms after descriptors freed`);
  for (const client of clients) {
    await assertEchoes(client, "still served");
    client.close();
  }
  const metrics = parseMetrics(
    await (await fetch(`http://127.0.0.1:${ports.http}/metrics`)).text(),
  );
  assert.ok(
    (metrics.get('echoserver_http_accept_errors_total{code="EMFILE"}') ?? 0) >=
      1,
  );
  const die = await fetch(`http://127.0.0.1:${ports.http}/die`, {
    method: "POST",
  });
  assert.equal(await die.text(), "bye bye");
  assert.equal((await service.status).code, 0);
});
