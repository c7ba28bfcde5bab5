// deploy/prometheus: the alert rules, their promtool unit tests, and the
// Prometheus Operator resource that carries the same groups, checked against
// each other, docs/operations.md and the code. tests/prometheus_test.ts runs them
// with promtool and a real Prometheus.
import assert from "node:assert/strict";
import { parse, parseAllDocuments } from "yaml";
import { parseCommandLine } from "../src/settings/config.ts";
import { SystemdUnit } from "./_systemd_unit.ts";

const read = async (path: string) =>
  parse(await Deno.readTextFile(new URL(`../${path}`, import.meta.url)));

interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleGroup {
  name: string;
  rules: AlertRule[];
}
interface AlertTest {
  alertname: string;
  exp_alerts: unknown[];
}

const { groups } = await read("deploy/prometheus/rules.yaml") as {
  groups: RuleGroup[];
};
const rules = groups.flatMap((group) => group.rules);
const rule = (name: string) => rules.find((rule) => rule.alert === name)!;

Deno.test("the table of alerts in docs/operations.md is rules.yaml's, with their severities", async () => {
  const operations = await Deno.readTextFile(
    new URL("../docs/operations.md", import.meta.url),
  );
  const rows = [
    ...operations.matchAll(/^\| `(Echoserver\w+)` +\|.*\| (\w+) +\|$/gm),
  ]
    .map(([, alert, severity]) => `${alert} ${severity}`);
  assert.deepEqual(
    rows,
    rules.map((rule) => `${rule.alert} ${rule.labels?.severity}`),
  );
});

Deno.test("every alert waits a while, has a severity, and says what happened and what to do", () => {
  for (const { alert, ...rule } of rules) {
    assert.match(rule.for ?? "", /^[1-9]\d*[smh]$/, `${alert}: for`);
    assert.match(
      rule.labels?.severity ?? "",
      /^(critical|warning)$/,
      `${alert}: severity`,
    );
    assert.ok(rule.annotations?.summary, `${alert}: summary`);
    assert.ok(
      (rule.annotations?.description ?? "").length > 100,
      `${alert}: a description that says what to do`,
    );
    assert.match(rule.expr, /job="echoserver"/, `${alert}: the job`);
  }
});

Deno.test("rules_test.yaml tests every alert both firing and not firing", async () => {
  const { tests } = await read("deploy/prometheus/rules_test.yaml") as {
    tests: { alert_rule_test: AlertTest[] }[];
  };
  const checks = tests.flatMap((test) => test.alert_rule_test);
  for (const { alert } of rules) {
    const expected = checks.filter((check) => check.alertname === alert)
      .map((check) => check.exp_alerts.length > 0);
    assert.ok(expected.includes(true), `${alert} is tested firing`);
    assert.ok(expected.includes(false), `${alert} is tested not firing`);
  }
});

Deno.test("prometheusrule.yaml carries exactly rules.yaml's groups", async () => {
  const resource = await read("deploy/prometheus/prometheusrule.yaml");
  assert.equal(resource.apiVersion, "monitoring.coreos.com/v1");
  assert.equal(resource.kind, "PrometheusRule");
  assert.deepEqual(resource.spec.groups, groups);
});

Deno.test("the open connections threshold is 80% of the default --max-connections", () => {
  const parsed = parseCommandLine([], {});
  assert.equal(parsed.kind, "run");
  const limit = parsed.settings.maxConnections;
  const { expr, annotations } = rule("EchoserverConnectionsNearLimit");
  assert.equal(Number(/ > (\d+)$/.exec(expr)?.[1]), 0.8 * limit);
  assert.match(annotations!.summary, new RegExp(` ${limit} `));
  assert.match(annotations!.description, new RegExp(` ${limit}: `));
});

Deno.test("the memory threshold is 80% of kubernetes.yaml's memory limit", async () => {
  const manifests = parseAllDocuments(
    await Deno.readTextFile(
      new URL("../deploy/kubernetes.yaml", import.meta.url),
    ),
  ).map((manifest) => manifest.toJS());
  const deployment = manifests.find((object) => object.kind === "Deployment");
  const limit: string =
    deployment.spec.template.spec.containers[0].resources.limits.memory;
  const mebibytes = Number(/^(\d+)Mi$/.exec(limit)?.[1]);
  assert.ok(mebibytes > 0, `a limit in Mi: ${limit}`);
  const { expr, annotations } = rule("EchoserverMemoryNearLimit");
  assert.match(
    expr,
    new RegExp(` > 0\\.8 \\* ${mebibytes} \\* 1024 \\* 1024$`),
  );
  assert.match(annotations!.summary, new RegExp(` ${mebibytes} MiB limit`));
  assert.match(annotations!.description, new RegExp(` ${mebibytes} MiB `));
});

Deno.test("the memory threshold is 80% of echoserver.service's MemoryMax too", async () => {
  const unit = new SystemdUnit(
    await Deno.readTextFile(
      new URL("../deploy/echoserver.service", import.meta.url),
    ),
  );
  // systemd reads M as 1024 * 1024 bytes.
  const limit = unit.get("Service", "MemoryMax") ?? "";
  const mebibytes = Number(/^(\d+)M$/.exec(limit)?.[1]);
  assert.ok(mebibytes > 0, `MemoryMax in M: ${limit}`);
  assert.match(
    rule("EchoserverMemoryNearLimit").expr,
    new RegExp(` > 0\\.8 \\* ${mebibytes} \\* 1024 \\* 1024$`),
  );
});
