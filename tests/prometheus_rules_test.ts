// deploy/prometheus: the alert rules, their promtool unit tests, and the
// Prometheus Operator resource that carries the same groups.
import assert from "node:assert/strict";
import { parse, parseAllDocuments } from "yaml";
import { parseConfig } from "../src/config.ts";
import { SKIP_PROMETHEUS } from "./_prometheus.ts";

const DIRECTORY = new URL("../deploy/prometheus/", import.meta.url).pathname;
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

async function promtool(...args: string[]): Promise<void> {
  const { success, stdout, stderr } = await new Deno.Command("promtool", {
    args,
    cwd: DIRECTORY,
  }).output();
  const output = new TextDecoder().decode(stdout) +
    new TextDecoder().decode(stderr);
  assert.ok(success, `promtool ${args.join(" ")}:\n${output}`);
}

Deno.test({
  name: "promtool checks rules.yaml and passes its unit tests",
  ignore: SKIP_PROMETHEUS,
  async fn() {
    await promtool("check", "rules", "rules.yaml");
    await promtool("test", "rules", "rules_test.yaml");
  },
});

Deno.test("rules.yaml has the alerts the operations guide promises", () => {
  assert.deepEqual(rules.map((rule) => rule.alert), [
    "EchoserverDown",
    "EchoserverAbsent",
    "EchoserverRestarting",
    "EchoserverRejectingConnections",
    "EchoserverConnectionsNearLimit",
    "EchoserverEchoAcceptsFailing",
    "EchoserverHttpAcceptsFailing",
    "EchoserverMemoryNearLimit",
    "EchoserverLogLinesDropped",
  ]);
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
  const config = parseConfig([], {});
  assert.equal(config.kind, "run");
  const limit = config.config.maxConnections;
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
