// deploy/prometheus and deploy/grafana against the real thing. promtool
// checks the rules and runs their unit tests. A real Prometheus scrapes two
// instances of the service under load with the rules loaded: every rule must
// evaluate without an error, the load must set off the alerts it should, and
// every query of the dashboard, its variables filled in as Grafana does, must
// return data.
import { withinTimeLimit } from "./_time_limit.ts";
import assert from "node:assert/strict";
import { parse } from "yaml";
import {
  type Alert,
  PrometheusServer,
  type Rule,
  type Sample,
  SKIP_PROMETHEUS,
} from "./_prometheus.ts";
import { dashboardSvg, type DrawnPanel } from "./_dashboard_svg.ts";
import { readExactly } from "./_read.ts";
import { LOOPBACK_ANY_PORT, ServiceProcess } from "./_service_process.ts";

const DIRECTORY = new URL("../deploy/prometheus/", import.meta.url).pathname;
const RULES = `${DIRECTORY}rules.yaml`;
const DASHBOARD = new URL("../deploy/grafana/echoserver.json", import.meta.url);

/** Scrape and rule evaluation interval: short, so that the test is. */
const INTERVAL_MS = 250;
/** Grafana's `$__interval`: here the query step, one sample a scrape. */
const STEP_MS = INTERVAL_MS;
/** Grafana's `$__rate_interval`: max($__interval + scrape, 4 × scrape). */
const RATE_INTERVAL_MS = Math.max(STEP_MS + INTERVAL_MS, 4 * INTERVAL_MS);
/** The limit on each run of promtool: it is killed after this. */
const PROMTOOL_MS = 30_000;
/** The limit on each wait on a socket. */
const SOCKET_MS = 5_000;

/**
 * Metrics that changes made alongside this one add to /metrics. Until they
 * are there, queries on them need only run without an error. (An HTTP accept
 * error has a series only once an HTTP accept has failed, which the load
 * here does not do.)
 */
const NOT_YET_EXPORTED = [
  "echoserver_http_accept_errors_total",
  "echoserver_log_lines_dropped_total",
];

interface Dashboard {
  templating: {
    list: { name: string; type: string; query: string | { query: string } }[];
  };
  panels: (Omit<DrawnPanel, "series" | "unit"> & {
    fieldConfig: { defaults: { unit: string } };
    targets: { expr: string; legendFormat: string }[];
  })[];
}

function connect(port: number): Promise<Deno.TcpConn> {
  return Deno.connect({ hostname: "127.0.0.1", port });
}

/** Waits for the server to close `conn`, having sent nothing. */
async function closedByServer(conn: Deno.Conn, what: string): Promise<void> {
  const read = await withinTimeLimit(
    conn.read(new Uint8Array(1)),
    SOCKET_MS,
    what,
  );
  assert.equal(read, null, what);
  conn.close();
}

async function get(port: number, path: string, status: number): Promise<void> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, {
    signal: AbortSignal.timeout(SOCKET_MS),
  });
  await response.body?.cancel();
  assert.equal(response.status, status, path);
}

/**
 * On an instance with `--max-connections 4` and `--idle-timeout 0.3`: four
 * silent clients, three more closed at once over the limit, the four dropped
 * as idle, three that echo, and health checks and a 404.
 */
async function loadLimitedInstance(ports: { echo: number; http: number }) {
  const silent = [];
  for (let i = 0; i < 4; i++) silent.push(await connect(ports.echo));
  const over = [];
  for (let i = 0; i < 3; i++) over.push(await connect(ports.echo));
  for (const conn of over) await closedByServer(conn, "closed over the limit");
  for (const conn of silent) await closedByServer(conn, "dropped as idle");
  for (let i = 0; i < 3; i++) {
    using conn = await connect(ports.echo);
    const data = new Uint8Array(10_000).fill(i);
    await conn.write(data);
    assert.deepEqual(
      await withinTimeLimit(readExactly(conn, data.length), SOCKET_MS, "echo"),
      data,
    );
  }
  for (const path of ["/healthcheck", "/livez", "/readyz"]) {
    await get(ports.http, path, 200);
  }
  await get(ports.http, "/no-such-path", 404);
}

/**
 * On an instance with 48 descriptors: more clients than it has descriptors
 * left, held until Prometheus has scraped its accept errors rising.
 */
async function loadDescriptorLimitedInstance(
  port: number,
  prometheus: PrometheusServer,
  instance: string,
) {
  const clients = [];
  for (let i = 0; i < 40; i++) clients.push(await connect(port));
  await prometheus.until("accept errors rising", async () => {
    const rising = await prometheus.query(
      `changes(echoserver_echo_accept_errors_total{instance="${instance}", code="EMFILE"}[1m]) > 0`,
    );
    return rising.length > 0 || undefined;
  });
  for (const client of clients) client.close();
}

/** Fills in Grafana's variables; throws on one it does not know. */
function fillVariables(expr: string, values: Record<string, string>): string {
  return expr.replaceAll(
    /\$(\w+)|\$\{(\w+)\}/g,
    (variable, plain, braced) => {
      const value = values[plain ?? braced];
      assert.ok(value !== undefined, `unknown variable ${variable} in ${expr}`);
      return value;
    },
  );
}

/** A multi-value variable as Grafana puts it in a regex matcher. */
function regexAlternatives(values: string[]): string {
  const escaped = values.map((value) =>
    value.replaceAll(/[.*+?^${}()|[\]\\]/g, "\\\\$&")
  );
  return `(${escaped.join("|")})`;
}

/** Grafana's `label_values(selector, label)`, asked of Prometheus. */
async function labelValues(
  prometheus: PrometheusServer,
  query: string,
): Promise<string[]> {
  const [, selector, label] = /^label_values\((.+), (\w+)\)$/.exec(query)!;
  const series = await prometheus.api<Record<string, string>[]>("series", {
    "match[]": selector,
  });
  return [...new Set(series.map((labels) => labels[label]))].sort();
}

async function promtool(...args: string[]): Promise<void> {
  const { success, stdout, stderr } = await new Deno.Command("promtool", {
    args,
    cwd: DIRECTORY,
    signal: AbortSignal.timeout(PROMTOOL_MS),
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

Deno.test({
  name:
    "a real Prometheus scraping the service under load evaluates every rule and answers every dashboard query",
  ignore: SKIP_PROMETHEUS,
  async fn(t) {
    await using limited = new ServiceProcess([
      ...LOOPBACK_ANY_PORT,
      "--max-connections",
      "4",
      "--idle-timeout",
      "0.3",
    ]);
    await using starved = new ServiceProcess(LOOPBACK_ANY_PORT, {
      maxDescriptors: 48,
    });
    const [limitedPorts, starvedPorts] = await Promise.all([
      withinTimeLimit(limited.ports(), SOCKET_MS, "limited instance started"),
      withinTimeLimit(starved.ports(), SOCKET_MS, "starved instance started"),
    ]);
    const [limitedInstance, starvedInstance] = [limitedPorts, starvedPorts]
      .map((ports) => `127.0.0.1:${ports.http}`);
    await using prometheus = await PrometheusServer.start({
      targets: [limitedInstance, starvedInstance],
      ruleFiles: [RULES],
      intervalMs: INTERVAL_MS,
    });
    // Prometheus passes on discovered targets 5 s after it starts.
    await prometheus.until("both instances scraped", async () => {
      const up = await prometheus.query('up{job="echoserver"} == 1');
      return up.length === 2 || undefined;
    }, 15_000);

    const loadStart = Date.now();
    await loadLimitedInstance(limitedPorts);
    await loadDescriptorLimitedInstance(
      starvedPorts.echo,
      prometheus,
      starvedInstance,
    );
    const loadEnd = Date.now();
    // Two scrapes of each instance, and an evaluation, after the load.
    await prometheus.until("scrapes after the load", async () => {
      const [oldest] = await prometheus.query(
        'min(timestamp(up{job="echoserver"}))',
      );
      const seconds = Number(oldest?.value?.[1]);
      return seconds * 1000 > loadEnd + 2 * INTERVAL_MS || undefined;
    });
    const rules = await prometheus.until("rules evaluated", async () => {
      const { groups } = await prometheus.api<
        { groups: { rules: Rule[] }[] }
      >("rules");
      const rules = groups.flatMap((group) => group.rules);
      const evaluated = rules.every((rule) =>
        Date.parse(rule.lastEvaluation) > loadEnd
      );
      return evaluated ? rules : undefined;
    });

    await t.step("every rule loads and evaluates with no error", async () => {
      const { groups } = parse(await Deno.readTextFile(RULES)) as {
        groups: { rules: { alert: string }[] }[];
      };
      const names = groups.flatMap((group) => group.rules)
        .map((rule) => rule.alert);
      assert.deepEqual(rules.map((rule) => rule.name), names);
      for (const rule of rules) {
        assert.equal(rule.health, "ok", `${rule.name}: ${rule.lastError}`);
      }
    });

    await t.step(
      "the load sets off the alerts it should, and no other",
      async () => {
        const { alerts } = await prometheus.api<{ alerts: Alert[] }>("alerts");
        const pending = alerts.map(({ labels, state }) =>
          `${labels.alertname} ${labels.instance} ${labels.code ?? ""} ${state}`
        ).sort();
        assert.deepEqual(pending, [
          `EchoserverEchoAcceptsFailing ${starvedInstance} EMFILE pending`,
          `EchoserverRejectingConnections ${limitedInstance}  pending`,
        ]);
      },
    );

    const dashboard: Dashboard = JSON.parse(await Deno.readTextFile(DASHBOARD));
    const variables: Record<string, string> = {
      __interval: `${STEP_MS}ms`,
      __rate_interval: `${RATE_INTERVAL_MS}ms`,
    };

    await t.step(
      "the dashboard's variables list the job and both instances",
      async () => {
        for (const variable of dashboard.templating.list) {
          if (variable.type !== "query") continue;
          const query = typeof variable.query === "string"
            ? variable.query
            : variable.query.query;
          const values = await labelValues(
            prometheus,
            fillVariables(query, variables),
          );
          assert.ok(values.length > 0, `${variable.name}: ${query}`);
          variables[variable.name] = variable.name === "instance"
            ? regexAlternatives(values)
            : values[0];
        }
        assert.equal(variables.job, "echoserver");
        assert.equal(
          variables.instance,
          regexAlternatives([limitedInstance, starvedInstance].sort()),
        );
      },
    );

    const drawn: DrawnPanel[] = [];
    const start = (loadStart - 1000) / 1000;
    const end = Date.now() / 1000;
    await t.step("every dashboard query returns data", async () => {
      for (const panel of dashboard.panels) {
        const series = [];
        for (const { expr, legendFormat } of panel.targets) {
          const { result } = await prometheus.api<{ result: Sample[] }>(
            "query_range",
            {
              query: fillVariables(expr, variables),
              start: String(start),
              end: String(end),
              step: String(STEP_MS / 1000),
            },
          );
          series.push(...result.map(({ metric, values = [] }) => ({
            legend: legendFormat.replaceAll(
              /\{\{(\w+)\}\}/g,
              (_, label) => metric[label] ?? "",
            ),
            points: values.map(([t, v]) => [t, Number(v)] as [number, number]),
          })));
          if (NOT_YET_EXPORTED.some((metric) => expr.includes(metric))) {
            continue;
          }
          const numbers = result.flatMap((series) => series.values ?? [])
            .map(([, value]) => Number(value))
            .filter(Number.isFinite);
          assert.ok(numbers.length > 0, `${panel.title}: no data for ${expr}`);
        }
        drawn.push({ ...panel, unit: panel.fieldConfig.defaults.unit, series });
      }
    });

    // DASHBOARD_SVG=path draws the dashboard from these results, for
    // docs/operations.md.
    const svgPath = Deno.env.get("DASHBOARD_SVG");
    if (svgPath) {
      await Deno.writeTextFile(
        svgPath,
        dashboardSvg("echoserver", drawn, { start, end }),
      );
    }
  },
});
