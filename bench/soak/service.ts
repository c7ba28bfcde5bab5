/**
 * The echoserver under test, as a process of its own on free loopback ports
 * with the soak's short idle timeouts: started, its output read (all of it,
 * always, so that it can never block on a full pipe), and stopped with
 * `POST /die`.
 *
 * @module
 */
import { withinTimeLimit } from "../../tests/_time_limit.ts";
import {
  exited as exitedWithin,
  kill as killChild,
  readText,
  spawn,
} from "../processes.ts";
import { httpExchange, request } from "./http.ts";
import { Endpoint } from "./net.ts";
import { ServerLog } from "./server_log.ts";
import { HOST, IDLE_REFRESH_MS, IDLE_TIMEOUT_MS } from "./settings.ts";

const START_LIMIT_MS = 15_000;
const STOP_LIMIT_MS = 10_000;
const HELP_LIMIT_MS = 15_000;

/** The service's command line, before its own flags. */
const SERVICE = [
  Deno.execPath(),
  "run",
  "--allow-net",
  "--allow-env",
  "main.ts",
];

/** The ports the service printed. */
export interface Ports {
  echo: number;
  http: number;
}

/** The echoserver under test, running as its own process. */
export interface Service {
  pid: number;
  ports: Ports;
  /** Sent as the bearer token of `POST /die`, if the service takes one. */
  dieToken: string | undefined;
  /** What it wrote to standard error, so far. */
  log: ServerLog;
  /** Its exit code, once it has exited and its output is read. */
  exited: Promise<number>;
  /** Whether it is still running. */
  running(): boolean;
  /** Kills it, if it is still running. */
  kill(): void;
}

/** Starts the service and waits for it to print both its ports. */
export async function startService(): Promise<Service> {
  const dieToken = await takesDieToken() ? crypto.randomUUID() : undefined;
  const child = spawn([
    ...SERVICE,
    ...["--echo-host", HOST, "--echo-port", "0"],
    ...["--http-host", HOST, "--http-port", "0"],
    ...["--idle-timeout", String(IDLE_TIMEOUT_MS / 1000)],
    ...["--idle-refresh", String(IDLE_REFRESH_MS / 1000)],
    ...(dieToken === undefined ? [] : ["--die-token", dieToken]),
  ]);
  const log = new ServerLog();
  let running = true;
  child.status.then(() => running = false);
  const ports = Promise.withResolvers<Ports>();
  const exited = Promise.all([
    child.status,
    forEachLine(child.stdout, portsReader(ports.resolve)),
    forEachLine(child.stderr, (line) => log.add(line)),
  ]).then(([status]) => status.code);
  exited.then(() => ports.reject(new Error("the service exited at start")));
  const kill = () => killChild(child);
  try {
    const found = await withinTimeLimit(ports.promise, START_LIMIT_MS, "start");
    return {
      pid: child.pid,
      ports: found,
      dieToken,
      log,
      exited,
      running: () => running,
      kill,
    };
  } catch (error) {
    kill();
    await exited;
    throw error;
  }
}

/** Whether this version of the service has the `--die-token` flag. */
async function takesDieToken(): Promise<boolean> {
  const child = spawn([...SERVICE, "--help"]);
  const [, help] = await Promise.all([
    exitedWithin(child, HELP_LIMIT_MS, "--help"),
    readText(child.stdout, 1_000_000),
    readText(child.stderr),
  ]);
  return help.includes("--die-token");
}

/** A line handler that calls `found` once both startup lines are seen. */
function portsReader(found: (ports: Ports) => void): (line: string) => void {
  let echo: number | undefined;
  let http: number | undefined;
  return (line) => {
    echo ??= portIn(line, /^echo listening on .*:(\d+)$/);
    http ??= portIn(line, /^http listening on http:\/\/.*:(\d+)\/$/);
    if (echo !== undefined && http !== undefined) found({ echo, http });
  };
}

function portIn(line: string, pattern: RegExp): number | undefined {
  const match = line.match(pattern);
  return match === null ? undefined : Number(match[1]);
}

/** Calls `onLine` for each line of `stream`, reading it to its end. */
async function forEachLine(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
): Promise<void> {
  let partial = "";
  for await (const text of stream.pipeThrough(new TextDecoderStream())) {
    const lines = (partial + text).split("\n");
    partial = lines.pop()!;
    lines.forEach(onLine);
  }
  if (partial) onLine(partial);
}

/**
 * Stops the service with `POST /die` and returns the reply's status and the
 * exit code; kills it (and reports exit code null) if it does not exit.
 */
export async function stopService(
  service: Service,
): Promise<{ dieStatus: number | null; exitCode: number | null }> {
  const authorization = service.dieToken === undefined
    ? []
    : [`Authorization: Bearer ${service.dieToken}`];
  const die = request("POST /die HTTP/1.1", [
    ...authorization,
    "Content-Length: 0",
  ]);
  const http = new Endpoint(service.ports.http);
  const dieStatus = await httpExchange(http, die, STOP_LIMIT_MS)
    .then((reply) => reply.status, () => null);
  try {
    const exitCode = await withinTimeLimit(
      service.exited,
      STOP_LIMIT_MS,
      "stop",
    );
    return { dieStatus, exitCode };
  } catch {
    service.kill();
    await service.exited;
    return { dieStatus, exitCode: null };
  }
}
