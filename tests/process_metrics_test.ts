import { withinTimeLimit } from "./_time_limit.ts";
import assert from "node:assert/strict";
import { parseMetrics } from "./_metrics_text.ts";
import { LOOPBACK_ANY_PORT, ServiceProcess } from "./_service_process.ts";

const WAIT_MS = 5_000;

/** `GET /metrics` over `conn`, kept alive: it needs no new descriptor. */
async function scrape(conn: Deno.Conn): Promise<Map<string, number>> {
  await conn.write(
    new TextEncoder().encode(
      "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    ),
  );
  let received = new Uint8Array(0);
  const buffer = new Uint8Array(16_384);
  const text = () => new TextDecoder().decode(received);
  for (;;) {
    const [head, body] = text().split("\r\n\r\n", 2);
    const length = Number(/^content-length: (\d+)$/im.exec(head)?.[1]);
    if (body !== undefined && body.length >= length) {
      assert.match(head, /^HTTP\/1\.1 200 /);
      return parseMetrics(body);
    }
    const size = await withinTimeLimit(conn.read(buffer), WAIT_MS, "/metrics");
    if (size === null) throw new Error(`closed after: ${text()}`);
    received = new Uint8Array([...received, ...buffer.subarray(0, size)]);
  }
}

Deno.test("process_resident_memory_bytes keeps its last reading while no descriptor is free", async () => {
  await using service = new ServiceProcess(LOOPBACK_ANY_PORT, {
    maxDescriptors: 48,
  });
  const ports = await withinTimeLimit(service.ports(), WAIT_MS, "started");
  using scraper = await Deno.connect({
    hostname: "127.0.0.1",
    port: ports.http,
  });
  const before = (await scrape(scraper)).get("process_resident_memory_bytes")!;
  assert.ok(before > 0);
  // More clients than descriptors left, as in process_faults_test.ts.
  const clients = [];
  for (let i = 0; i < 40; i++) {
    clients.push(
      await Deno.connect({ hostname: "127.0.0.1", port: ports.echo }),
    );
  }
  await withinTimeLimit(
    service.stderr.waitFor('warning: accept failed error="Too many open files'),
    WAIT_MS,
    "accept failed",
  );
  const during = (await scrape(scraper)).get("process_resident_memory_bytes")!;
  for (const client of clients) client.close();
  assert.ok(during > 0, `resident memory read as ${during} bytes`);
});
