import assert from "node:assert/strict";
import { createMetrics } from "../src/metrics.ts";
import { parseMetrics } from "./_metrics_text.ts";

Deno.test("the connection duration histogram's buckets run from 10 ms to 1 h: 10 ms, 100 ms, 1 s, 5 s, 10 s, 30 s, 1 min, 5 min, 30 min, 1 h", async () => {
  const metrics = createMetrics();
  metrics.echo.duration.observe(3_600);
  metrics.echo.duration.observe(3_600.5);
  const buckets = [...parseMetrics(await metrics.text.read())]
    .filter(([name]) =>
      name.startsWith("echoserver_echo_connection_duration_seconds_bucket")
    )
    .map(([name, count]) => [name.match(/le="([^"]+)"/)![1], count]);
  assert.deepEqual(buckets, [
    ["0.01", 0],
    ["0.1", 0],
    ["1", 0],
    ["5", 0],
    ["10", 0],
    ["30", 0],
    ["60", 0],
    ["300", 0],
    ["1800", 0],
    ["3600", 1],
    ["+Inf", 2],
  ]);
});
