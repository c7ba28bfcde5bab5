import assert from "node:assert/strict";
import { LineCapture } from "./_line_capture.ts";
import { VARIABLES_READ } from "../src/settings/config.ts";

const ROOT = new URL("..", import.meta.url).pathname;

/** Flags for a service on loopback, on ports the system picks. */
export const LOOPBACK_ANY_PORT: readonly string[] = [
  "--echo-host",
  "127.0.0.1",
  "--echo-port",
  "0",
  "--http-port",
  "0",
];

/**
 * What the service needs once its files are read: the network, and the
 * variables it reads, named one by one as `deno task start` names them.
 */
export const SERVICE_PERMISSIONS: readonly string[] = [
  "--allow-net",
  `--allow-env=${VARIABLES_READ.join(",")}`,
];

/** `main.ts` running as its own process, as a user runs it. */
export class ServiceProcess implements AsyncDisposable {
  readonly #child: Deno.ChildProcess;
  /** Its standard output, line by line. */
  readonly stdout = new LineCapture();
  /** Its standard error, line by line. */
  readonly stderr = new LineCapture();
  /** Settles when it has exited and both outputs are read. */
  readonly status: Promise<Deno.CommandStatus>;
  /** Opens once stderr may be read: at once, unless `unreadStderr` holds it. */
  readonly #stderrRead = Promise.withResolvers<void>();

  /**
   * Runs `main.ts` with `--allow-net`, `--allow-env` for the variables it
   * reads alone (see `SERVICE_PERMISSIONS`) and `args`, with no
   * `ECHOSERVER__` variable from this environment but those in `env`; or,
   * with `task`, runs that task of deno.json (`deno task -q start`) with
   * `args`, as a user would.
   */
  constructor(
    args: readonly string[],
    options: {
      env?: Record<string, string>;
      permissions?: string[];
      /** Runs it under `prlimit` with this many file descriptors at most. */
      maxDescriptors?: number;
      /** Leaves its stderr pipe unread, and full, until `readStderr()`. */
      unreadStderr?: boolean;
      /** A task of deno.json to run instead, with its own permissions. */
      task?: string;
      /** More flags for `deno run`, such as the inspector's. */
      runFlags?: readonly string[];
    } = {},
  ) {
    const inherited = Object.entries(Deno.env.toObject()).filter(([name]) =>
      !name.startsWith("ECHOSERVER__")
    );
    const command = options.maxDescriptors === undefined
      ? [Deno.execPath()]
      : ["prlimit", `--nofile=${options.maxDescriptors}`, Deno.execPath()];
    const run = options.task === undefined
      ? [
        "run",
        ...(options.runFlags ?? []),
        ...(options.permissions ?? SERVICE_PERMISSIONS),
        "main.ts",
      ]
      : ["task", "-q", options.task];
    this.#child = new Deno.Command(command[0], {
      args: [...command.slice(1), ...run, ...args],
      cwd: ROOT,
      clearEnv: true,
      env: { ...Object.fromEntries(inherited), NO_COLOR: "1", ...options.env },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    if (!options.unreadStderr) this.#stderrRead.resolve();
    const stderr = this.#child.stderr;
    this.status = Promise.all([
      this.#child.status,
      collect(this.#child.stdout, this.stdout),
      this.#stderrRead.promise.then(() => collect(stderr, this.stderr)),
    ]).then(([status]) => status);
  }

  /**
   * The ports from the startup lines, once both are printed; rejects, with
   * its stderr, if it exits first.
   */
  async ports(): Promise<{ echo: number; http: number }> {
    const exited = this.status.then(({ code }) => {
      throw new Error(
        `exited ${code} before it listened: ${this.stderr.lines.join("\n")}`,
      );
    });
    const [echo, http] = await Promise.race([
      Promise.all([
        this.stdout.waitFor("echo listening on "),
        this.stdout.waitFor("http listening on "),
      ]),
      exited,
    ]);
    return {
      echo: Number(echo.match(/:(\d+)$/)![1]),
      http: Number(http.match(/:(\d+)\/$/)![1]),
    };
  }

  /** Its process id. */
  get pid(): number {
    return this.#child.pid;
  }

  /**
   * The addresses it listens on for TCP, as `ss` writes them
   * (`127.0.0.1:4001`, `[::1]:9229`), sorted.
   */
  async listeningAddresses(): Promise<string[]> {
    const { stdout } = await new Deno.Command("ss", { args: ["-Hltnp"] })
      .output();
    return new TextDecoder().decode(stdout).split("\n")
      .filter((line) => line.includes(`pid=${this.#child.pid},`))
      .map((line) => line.trim().split(/\s+/)[3]).sort();
  }

  /** How many file descriptors the process has open. */
  async descriptors(): Promise<number> {
    const fds = await procFile(`/proc/${this.#child.pid}/fd`, ["ls"]);
    return fds.trim().split("\n").length;
  }

  /** How many sockets the process has open. */
  async sockets(): Promise<number> {
    const fds = await procFile(`/proc/${this.#child.pid}/fd`, ["ls", "-l"]);
    return fds.split("-> socket:").length - 1;
  }

  /** The process's resident memory in bytes. */
  async residentBytes(): Promise<number> {
    const status = await procFile(`/proc/${this.#child.pid}/status`, ["cat"]);
    return Number(status.match(/^VmRSS:\s+(\d+) kB$/m)![1]) * 1024;
  }

  /** Settles when it has exited, whether or not its outputs are read. */
  get exited(): Promise<Deno.CommandStatus> {
    return this.#child.status;
  }

  /** Starts reading stderr, held back by `unreadStderr`. */
  readStderr(): void {
    this.#stderrRead.resolve();
  }

  /** Sends a signal to the process. */
  kill(signal: Deno.Signal): void {
    this.#child.kill(signal);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // Already exited.
    }
    this.readStderr();
    await this.status;
  }
}

/** Adds each line of a process's output to `capture` as it arrives. */
export async function collect(
  stream: ReadableStream<Uint8Array>,
  capture: LineCapture,
): Promise<void> {
  let partial = "";
  for await (const text of stream.pipeThrough(new TextDecoderStream())) {
    const lines = (partial + text).split("\n");
    partial = lines.pop()!;
    for (const line of lines) capture.add(line);
  }
  if (partial) capture.add(partial);
}

/** Reads another process's /proc entry: Deno reads those only with --allow-all. */
async function procFile(
  path: string,
  [command, ...options]: string[],
): Promise<string> {
  const { stdout } = await new Deno.Command(command, {
    args: [...options, path],
  }).output();
  return new TextDecoder().decode(stdout);
}

/**
 * Asserts that `service` exited with `code` after one line on stderr, which
 * begins `echoserver: ${message}`, and nothing on stdout: how the service
 * refuses to start.
 */
export async function assertRefusesToStart(
  service: ServiceProcess,
  code: number,
  message: string,
): Promise<void> {
  assert.equal((await service.status).code, code, message);
  assert.deepEqual(service.stdout.lines, []);
  assert.equal(service.stderr.lines.length, 1, service.stderr.lines.join("\n"));
  assert.ok(
    service.stderr.lines[0].startsWith(`echoserver: ${message}`),
    service.stderr.lines[0],
  );
}
