/**
 * The three servers under test and how to start, time and stop them.
 *
 * @module
 */
import { withinTimeLimit } from "../tests/_time_limit.ts";
import { exited, killed, onCore, readText, spawn } from "./processes.ts";

/** The short names of the servers, as used in results.json. */
export type ServerName = "service" | "deno" | "node";

/** A certificate and its key, for the TLS scenarios. */
export interface TlsFiles {
  certFile: string;
  keyFile: string;
}

/** How to run one server. */
export interface ServerSpec {
  name: ServerName;
  /** Its name in the report. */
  label: string;
  /** The command line, run from the project root. */
  argv: string[];
  /** The command line that serves echo over TLS and HTTP over HTTPS. */
  tlsArgv(files: TlsFiles): string[];
  /** More arguments for the idle scenario. */
  idleArgs: string[];
  /** More arguments that add a UDP echo, printed as `udp listening on`. */
  udpArgs: string[];
  /** How it is asked to stop: `POST /die`, or SIGTERM. */
  stopBy: "die" | "sigterm";
}

const SERVICE_ADDRESSES = [
  ...["--echo-host", "127.0.0.1", "--echo-port", "0", "--http-port", "0"],
];
const tlsFlags = ({ certFile, keyFile }: TlsFiles) => [
  ...["--tls-cert", certFile, "--tls-key", keyFile],
];
const allowRead = ({ certFile, keyFile }: TlsFiles) =>
  `--allow-read=${certFile},${keyFile}`;

/** The service and its two baselines, in the order each round runs them. */
export const SERVERS: readonly ServerSpec[] = [
  {
    name: "service",
    label: "service",
    argv: [
      Deno.execPath(),
      ...["run", "--allow-net", "--allow-env", "main.ts"],
      ...SERVICE_ADDRESSES,
    ],
    tlsArgv: (files) => [
      Deno.execPath(),
      ...["run", "--allow-net", "--allow-env", allowRead(files), "main.ts"],
      ...SERVICE_ADDRESSES,
      ...tlsFlags(files),
    ],
    idleArgs: ["--idle-timeout", "600", "--idle-refresh", "600"],
    udpArgs: ["--udp"],
    stopBy: "die",
  },
  {
    name: "deno",
    label: "bare Deno",
    argv: [
      Deno.execPath(),
      ...["run", "--allow-net", "bench/baselines/deno_echo.ts"],
    ],
    tlsArgv: (files) => [
      Deno.execPath(),
      ...["run", "--allow-net", allowRead(files)],
      ...["bench/baselines/deno_echo.ts", ...tlsFlags(files)],
    ],
    idleArgs: [],
    // node:dgram, as the service: like with like.
    udpArgs: ["--udp"],
    stopBy: "sigterm",
  },
  {
    name: "node",
    label: "Node",
    argv: ["node", "bench/baselines/node_echo.mjs"],
    tlsArgv: (files) => [
      ...["node", "bench/baselines/node_echo.mjs", ...tlsFlags(files)],
    ],
    idleArgs: [],
    udpArgs: ["--udp"],
    stopBy: "sigterm",
  },
];

/** The ports a server printed. */
export interface Ports {
  echo: number;
  http: number;
  /** Whether the HTTP port serves HTTPS. */
  https: boolean;
  /** The UDP echo port, when it was asked for. */
  udp?: number;
}

/** How {@linkcode startServer} runs a server. */
export interface StartOptions {
  /** Adds the spec's idle arguments. */
  idle?: boolean;
  /** Runs it under `prlimit` with this descriptor limit (see fileLimit). */
  fileLimit?: number;
  /** Adds the spec's UDP arguments, and waits for the UDP port too. */
  udp?: boolean;
}

const READY_LIMIT_MS = 15_000;
const STOP_LIMIT_MS = 10_000;
const CONNECT_ATTEMPTS = 5_000;

/** A running server. */
export class Server {
  readonly #child: Deno.ChildProcess;
  readonly #stderr: Promise<string>;

  /**
   * @param spec what runs
   * @param child its process
   * @param stderr all it writes on stderr, once it has exited
   * @param ports the ports it printed
   * @param startMs from spawn until both ports were printed, the echo port
   *   accepted and `/healthcheck` answered 200
   */
  constructor(
    readonly spec: ServerSpec,
    child: Deno.ChildProcess,
    stderr: Promise<string>,
    readonly ports: Ports,
    readonly startMs: number,
  ) {
    this.#child = child;
    this.#stderr = stderr;
  }

  /** Its process id. */
  get pid(): number {
    return this.#child.pid;
  }

  /**
   * Asks the server to stop (`POST /die` or SIGTERM) and waits for it to
   * exit; the milliseconds from asking to exit. Kills it and throws if it
   * does not exit, or not with code 0, within 10 s.
   */
  async stop(): Promise<number> {
    const started = performance.now();
    try {
      if (this.spec.stopBy === "die") {
        const url = `http://127.0.0.1:${this.ports.http}/die`;
        const response = await withinTimeLimit(
          fetch(url, { method: "POST" }),
          STOP_LIMIT_MS,
          `${this.spec.label} POST /die`,
        );
        await response.body?.cancel();
      } else {
        this.#child.kill("SIGTERM");
      }
    } catch (error) {
      await killed(this.#child);
      throw error;
    }
    const status = await exited(
      this.#child,
      STOP_LIMIT_MS,
      `${this.spec.label} exit`,
    );
    const ms = performance.now() - started;
    if (!status.success) {
      throw new Error(
        `${this.spec.label} exited with code ${status.code}: ${await this
          .#stderr}`,
      );
    }
    return ms;
  }
}

/**
 * Starts a server on the server's core and times it until it has printed
 * both ports, the echo port accepts a connection and `GET /healthcheck`
 * answers 200. Throws, with the server stopped, if that takes over 15 s or
 * the server exits first.
 */
export async function startServer(
  spec: ServerSpec,
  options: StartOptions = {},
): Promise<Server> {
  const { idle = false, fileLimit, udp = false } = options;
  const argv = [
    ...(fileLimit ? ["prlimit", `--nofile=${fileLimit}:${fileLimit}`] : []),
    ...spec.argv,
    ...(idle ? spec.idleArgs : []),
    ...(udp ? spec.udpArgs : []),
  ];
  const started = performance.now();
  const child = spawn(onCore("server", argv));
  const stderr = readText(child.stderr);
  try {
    const ports = await withinTimeLimit(
      readPorts(child.stdout, udp).then(async (ports) => {
        await accepting(ports.echo);
        // HTTPS with a self-signed certificate: the TLS start is not timed.
        await (ports.https ? accepting : healthy)(ports.http);
        return ports;
      }),
      READY_LIMIT_MS,
      `${spec.label} ready`,
    );
    return new Server(spec, child, stderr, ports, performance.now() - started);
  } catch (error) {
    await killed(child);
    throw new Error(`${error}; its stderr: ${(await stderr).slice(-500)}`);
  }
}

/**
 * The ports from the startup lines, the UDP one's too with `udp`; keeps
 * draining stdout after.
 */
async function readPorts(
  stdout: ReadableStream<Uint8Array>,
  udp: boolean,
): Promise<Ports> {
  const reader = stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    text += read.value;
    const echo = text.match(/^echo listening on \S+:(\d+)$/m);
    const http = text.match(/^http listening on (https?):\/\/\S+:(\d+)\/$/m);
    const udpPort = text.match(/^udp listening on \S+:(\d+)$/m);
    if (echo && http && (udpPort || !udp)) {
      drain(reader);
      return {
        echo: Number(echo[1]),
        http: Number(http[2]),
        https: http[1] === "https",
        ...(udpPort ? { udp: Number(udpPort[1]) } : {}),
      };
    }
  }
  throw new Error(`exited before printing both ports; stdout: ${text}`);
}

async function drain(reader: ReadableStreamDefaultReader<string>) {
  try {
    while (!(await reader.read()).done);
  } catch {
    // The process is gone; nothing more to read.
  }
}

/** Resolves once a connection to `port` succeeds. */
function accepting(port: number): Promise<void> {
  return retried(async () => {
    (await Deno.connect({ hostname: "127.0.0.1", port })).close();
  });
}

/** Resolves once `GET /healthcheck` on `port` answers 200. */
function healthy(port: number): Promise<void> {
  return retried(async () => {
    const response = await fetch(`http://127.0.0.1:${port}/healthcheck`);
    await response.body?.cancel();
    if (response.status !== 200) {
      throw new Error(`/healthcheck answered ${response.status}`);
    }
  });
}

/** Runs `attempt` until it succeeds, a millisecond apart, 5,000 times at most. */
async function retried(attempt: () => Promise<void>): Promise<void> {
  for (let tries = 1;; tries++) {
    try {
      return await attempt();
    } catch (error) {
      if (tries === CONNECT_ATTEMPTS) throw error;
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  }
}
