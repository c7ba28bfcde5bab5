// The text /metrics answers, against the format's own rules and against
// what Prometheus reads: promtool parses and lints the service's whole text.
// (tests/plain_metrics_test.ts holds it to prom-client's text, and
// tests/prometheus_test.ts has a real Prometheus scrape it.)
import assert from "node:assert/strict";
import { formatExposition } from "../src/observability/exposition.ts";
import { createMetrics } from "../src/metrics.ts";
import { SKIP_PROMETHEUS } from "./_prometheus.ts";
import { TEST_TIME_LIMIT_MS, withinTimeLimit } from "./_time_limit.ts";

Deno.test("formatExposition() escapes a backslash and a line break in help text, and a double quote too in a label value", () => {
  const text = formatExposition([{
    name: "jobs_total",
    help: 'Jobs in C:\\jobs, "quoted",\nby kind.',
    type: "counter",
    values: [{ labels: { kind: 'C:\\new "job"\nsecond line' }, value: 1 }],
  }]);
  assert.equal(
    text,
    '# HELP jobs_total Jobs in C:\\\\jobs, "quoted",\\nby kind.\n' +
      "# TYPE jobs_total counter\n" +
      'jobs_total{kind="C:\\\\new \\"job\\"\\nsecond line"} 1\n',
  );
});

Deno.test("formatExposition() writes values as Prometheus reads them, and sets metrics apart by a blank line", () => {
  const gauge = (name: string, value: number) => ({
    name,
    help: name,
    type: "gauge" as const,
    values: [{ labels: {}, value }],
  });
  assert.equal(
    formatExposition([
      gauge("a", 3),
      gauge("b", 0.25),
      gauge("c", Infinity),
      gauge("d", -Infinity),
      gauge("e", NaN),
      gauge("f", 1e21),
    ]),
    [
      ["a", "3"],
      ["b", "0.25"],
      ["c", "+Inf"],
      ["d", "-Inf"],
      ["e", "NaN"],
      ["f", "1e+21"],
    ].map(([name, value]) =>
      `# HELP ${name} ${name}\n# TYPE ${name} gauge\n${name} ${value}\n`
    ).join("\n"),
  );
});

Deno.test({
  name:
    "promtool check metrics parses and passes the service's /metrics text, label values with a backslash, a quote and a line break included",
  ignore: SKIP_PROMETHEUS,
  fn: () => withinTimeLimit(checkMetrics(), TEST_TIME_LIMIT_MS, "promtool"),
});

async function checkMetrics(): Promise<void> {
  const metrics = createMetrics();
  metrics.echo.duration.observe(0.5);
  metrics.echo.acceptErrors.inc({ code: 'E\\"\nX' });
  metrics.http.requests.inc({ route: "/healthcheck", status: 200 });
  const text = await metrics.text.read();
  const promtool = new Deno.Command("promtool", {
    args: ["check", "metrics"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(TEST_TIME_LIMIT_MS),
  }).spawn();
  const writer = promtool.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const { success, stdout, stderr } = await promtool.output();
  const said = new TextDecoder().decode(stdout) +
    new TextDecoder().decode(stderr);
  assert.ok(success, said);
  assert.equal(said, "");
  assert.match(
    text,
    /^echoserver_echo_accept_errors_total\{code="E\\\\\\"\\nX"\} 1$/m,
  );
}
