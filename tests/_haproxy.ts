import { LineCapture } from "./_line_capture.ts";
import { collect } from "./_service_process.ts";

/**
 * The haproxy program: on PATH, or where Debian installs it (`/usr/sbin`,
 * which a user's PATH may lack); undefined when it is not installed.
 */
export const HAPROXY: string | undefined = await findHaproxy();

async function findHaproxy(): Promise<string | undefined> {
  for (const program of ["haproxy", "/usr/sbin/haproxy"]) {
    try {
      const { success } = await new Deno.Command(program, { args: ["-v"] })
        .output();
      if (success) return program;
    } catch {
      // Not there: try the next.
    }
  }
  return undefined;
}

/** One echoserver instance behind the balancer. */
export interface Backend {
  name: string;
  echoPort: number;
  /** Where HAProxy checks `GET /readyz`. */
  httpPort: number;
}

/** What {@linkcode haproxyConfig} writes. */
export interface HaproxyConfigOptions {
  /** Where clients connect, on 127.0.0.1 (and on ::1 too with `ipv6`). */
  port: number;
  ipv6?: boolean;
  /** `send-proxy` for PROXY protocol v1, `send-proxy-v2` for v2. */
  sendProxy: "send-proxy" | "send-proxy-v2";
  backends: readonly Backend[];
  /** Milliseconds between health checks. */
  checkIntervalMs: number;
  /** Failed checks in a row that take a backend out of rotation. */
  fall: number;
}

/**
 * A TCP-mode HAProxy configuration as docs/load-balancers.md gives it, with
 * test timings: a frontend on loopback only, each backend sent the PROXY
 * protocol and checked with `GET /readyz` on its HTTP port, and the log (every
 * health check's change included) on standard output. No stats page, no admin
 * socket.
 */
export function haproxyConfig(options: HaproxyConfigOptions): string {
  const { port, sendProxy, checkIntervalMs, fall } = options;
  return [
    "global",
    "  log stdout format raw local0 info",
    "defaults",
    "  mode tcp",
    "  log global",
    "  option log-health-checks",
    "  timeout connect 2s",
    "  timeout client 30s",
    "  timeout server 30s",
    "frontend echo",
    `  bind 127.0.0.1:${port}`,
    ...(options.ipv6 ? [`  bind [::1]:${port}`] : []),
    "  default_backend echoservers",
    "backend echoservers",
    "  option httpchk GET /readyz",
    `  default-server ${sendProxy} check inter ${checkIntervalMs} fall ${fall} rise 1`,
    ...options.backends.map(({ name, echoPort, httpPort }) =>
      `  server ${name} 127.0.0.1:${echoPort} port ${httpPort}`
    ),
    "",
  ].join("\n");
}

/**
 * HAProxy running in the foreground with `config`, read from its standard
 * input so that no file is written; killed when disposed.
 */
export class HaproxyProcess implements AsyncDisposable {
  readonly #child: Deno.ChildProcess;
  /** Its log, line by line. */
  readonly stdout = new LineCapture();
  /** Its warnings and alerts, line by line. */
  readonly stderr = new LineCapture();
  /** Settles when it has exited and both outputs are read. */
  readonly status: Promise<Deno.CommandStatus>;

  constructor(config: string) {
    this.#child = new Deno.Command(HAPROXY ?? "haproxy", {
      args: ["-db", "-f", "/dev/stdin"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const writer = this.#child.stdin.getWriter();
    const configWritten = writer.write(new TextEncoder().encode(config))
      .then(() => writer.close());
    this.status = Promise.all([
      this.#child.status,
      collect(this.#child.stdout, this.stdout),
      collect(this.#child.stderr, this.stderr),
      configWritten,
    ]).then(([status]) => status);
  }

  /**
   * Once HAProxy has checked `backend` and found it ready, which it does only
   * after its listeners are bound; rejects if HAProxy exits first.
   */
  async ready(backend: string): Promise<void> {
    const exited = this.status.then((status) => {
      throw new Error(
        `haproxy exited with ${status.code}: ${this.stderr.lines.join("\n")}`,
      );
    });
    await Promise.race([
      this.stdout.waitFor(
        `Health check for server echoservers/${backend} succeeded`,
      ),
      exited,
    ]);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // Already exited.
    }
    await this.status;
  }
}

/** Whether this machine has IPv6 loopback. */
export function hasIPv6Loopback(): boolean {
  try {
    using _ = Deno.listen({ hostname: "::1", port: 0 });
    return true;
  } catch {
    return false;
  }
}
