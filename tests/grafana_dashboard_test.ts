// deploy/grafana/echoserver.json: the variables and panels an operator
// needs, written so that they work on any Prometheus data source.
// tests/prometheus_test.ts runs its queries against a real Prometheus.
import assert from "node:assert/strict";

interface Target {
  expr: string;
  datasource: { uid: string };
}
interface Dashboard {
  templating: {
    list: {
      name: string;
      type: string;
      multi?: boolean;
      includeAll?: boolean;
    }[];
  };
  panels: {
    id: number;
    title: string;
    datasource: { uid: string };
    targets: Target[];
  }[];
}

const dashboard: Dashboard = JSON.parse(
  await Deno.readTextFile(
    new URL("../deploy/grafana/echoserver.json", import.meta.url),
  ),
);
const targets = dashboard.panels.flatMap((panel) => panel.targets);

Deno.test("the dashboard picks its data source, job and instances with variables", () => {
  const variable = (name: string) =>
    dashboard.templating.list.find((variable) => variable.name === name);
  assert.equal(variable("datasource")?.type, "datasource");
  assert.equal(variable("job")?.type, "query");
  assert.equal(variable("instance")?.type, "query");
  assert.equal(variable("instance")?.multi, true);
  assert.equal(variable("instance")?.includeAll, true);
  for (const { datasource } of [...dashboard.panels, ...targets]) {
    assert.equal(datasource.uid, "${datasource}");
  }
  for (const { expr } of targets) {
    assert.match(expr, /\{job="\$job", instance=~"\$instance"\}/, expr);
  }
});

Deno.test("every rate in the dashboard is over $__rate_interval", () => {
  for (const { expr } of targets) {
    for (const [, range] of expr.matchAll(/\[([^\]]*)\]/g)) {
      assert.equal(range, "$__rate_interval", expr);
    }
  }
});

Deno.test("the dashboard has the panels the operations guide describes", () => {
  const titles = dashboard.panels.map((panel) => panel.title);
  for (
    const title of [
      "Open connections",
      "Accepts and rejections per second",
      "Connection ends per second by reason",
      "Echoed bytes per second",
      "HTTP requests per second by route and status",
      "Connection duration",
      "Memory",
      "CPU",
    ]
  ) assert.ok(titles.includes(title), title);
  const ids = dashboard.panels.map((panel) => panel.id);
  assert.equal(new Set(ids).size, ids.length, "panel ids are unique");
});
