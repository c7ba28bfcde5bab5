// Prometheus for the tests that check deploy/prometheus and deploy/grafana:
// whether it is installed, and a server on loopback that lives for one test.
import { stringify } from "yaml";
import { freePort } from "./_free_port.ts";

async function runs(program: string): Promise<boolean> {
  try {
    const command = new Deno.Command(program, {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    });
    return (await command.output()).success;
  } catch {
    return false;
  }
}

const installed = await runs("prometheus") && await runs("promtool");

/**
 * Whether the tests that need `prometheus` and `promtool` are skipped: only
 * where they are not installed and this is not CI. CI installs them, so there
 * a missing install fails the tests instead of skipping them.
 */
export const SKIP_PROMETHEUS = !installed && Deno.env.get("CI") !== "true";
if (SKIP_PROMETHEUS) {
  console.log(
    "skipping the Prometheus tests: prometheus and promtool are not installed (apt-get install prometheus)",
  );
}

/** What `ms` allows for each wait on Prometheus, and each HTTP request to it. */
const REQUEST_MS = 5_000;

/** A Prometheus answer's `data`, for the fields the tests read. */
export interface Sample {
  metric: Record<string, string>;
  values?: [number, string][];
  value?: [number, string];
}
export interface Rule {
  name: string;
  health: string;
  lastError?: string;
  lastEvaluation: string;
}
export interface Alert {
  labels: Record<string, string>;
  state: string;
}

/** Options of {@linkcode PrometheusServer.start}. */
export interface PrometheusOptions {
  /** `host:port` of each target, all in job `echoserver`. */
  targets: string[];
  /** Absolute paths of rule files to load. */
  ruleFiles: string[];
  /** The scrape and rule evaluation interval, in milliseconds. */
  intervalMs: number;
}

/**
 * `prometheus` on a free loopback port with its storage in a temporary
 * directory, scraping `targets` as job `echoserver`; killed, and its
 * directory removed, on dispose.
 */
export class PrometheusServer implements AsyncDisposable {
  readonly #child: Deno.ChildProcess;
  readonly #directory: string;
  readonly #log: Promise<string>;
  /** Its base URL, such as `http://127.0.0.1:9090`. */
  readonly url: string;

  private constructor(
    child: Deno.ChildProcess,
    directory: string,
    port: number,
  ) {
    this.#child = child;
    this.#directory = directory;
    this.#log = new Response(child.stderr).text();
    this.url = `http://127.0.0.1:${port}`;
  }

  /** Starts Prometheus and resolves once it is ready to be queried. */
  static async start(options: PrometheusOptions): Promise<PrometheusServer> {
    const directory = await Deno.makeTempDir({ prefix: "echoserver-prom-" });
    const interval = `${options.intervalMs}ms`;
    await Deno.writeTextFile(
      `${directory}/prometheus.yml`,
      stringify({
        global: {
          scrape_interval: interval,
          scrape_timeout: interval,
          evaluation_interval: interval,
        },
        rule_files: options.ruleFiles,
        scrape_configs: [{
          job_name: "echoserver",
          static_configs: [{ targets: options.targets }],
        }],
      }),
    );
    const port = freePort();
    const child = new Deno.Command("prometheus", {
      args: [
        `--config.file=${directory}/prometheus.yml`,
        `--storage.tsdb.path=${directory}/data`,
        `--web.listen-address=127.0.0.1:${port}`,
        "--log.level=warn",
      ],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const server = new PrometheusServer(child, directory, port);
    try {
      await server.until("Prometheus ready", async () => {
        const response = await fetch(`${server.url}/-/ready`, {
          signal: AbortSignal.timeout(REQUEST_MS),
        }).catch(() => undefined);
        await response?.body?.cancel();
        return response?.ok || undefined;
      });
    } catch (error) {
      await server[Symbol.asyncDispose]();
      throw new Error(`${error}; its log:\n${await server.#log}`);
    }
    return server;
  }

  /** `GET /api/v1/<path>`'s `data`; throws on an error answer. */
  async api<T>(path: string, params: Record<string, string> = {}): Promise<T> {
    const url = `${this.url}/api/v1/${path}?${new URLSearchParams(params)}`;
    const response = await fetch(url, {
      signal: AbortSignal.timeout(REQUEST_MS),
    });
    const body = await response.json();
    if (body.status !== "success") {
      throw new Error(`${path} ${JSON.stringify(params)}: ${body.error}`);
    }
    return body.data;
  }

  /** The instant vector `expr` evaluates to now. */
  async query(expr: string): Promise<Sample[]> {
    const data = await this.api<{ result: Sample[] }>("query", {
      query: expr,
    });
    return data.result;
  }

  /** Resolves with `check()`'s first value other than undefined; throws after `ms`. */
  async until<T>(
    what: string,
    check: () => Promise<T | undefined>,
    ms = REQUEST_MS,
  ): Promise<T> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      const value = await check();
      if (value !== undefined) return value;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`${what}: not within ${ms} ms`);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // Already exited.
    }
    await this.#child.status;
    await this.#log;
    await Deno.remove(this.#directory, { recursive: true });
  }
}
