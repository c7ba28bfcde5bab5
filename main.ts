/**
 * The echoserver process: reads flags and environment, starts the service,
 * turns SIGTERM, SIGINT, SIGHUP and SIGQUIT into its one shutdown signal, and
 * picks the exit code. SIGTERM first takes the service out of rotation for
 * `--shutdown-delay`; SIGINT, SIGHUP and SIGQUIT stop it at once. SIGUSR1,
 * SIGUSR2 and SIGALRM are ignored, with a warning. The signals are listened
 * to before anything else is done (src/process_signals.ts). Exit codes: 0
 * after a clean shutdown, 1 when the service cannot start (such as a port in
 * use, or stdout that cannot be written), 2 for bad flags or environment
 * variables, files they name that cannot be used (read once here, before
 * anything listens), or an HTTP address off loopback with no die token
 * (refused before anything listens), 129, 130, 131 or 143 for a second
 * SIGHUP, SIGINT, SIGQUIT or SIGTERM once shutdown has begun, or for any of
 * them before the service has started. `--check-health` instead checks a
 * running service (src/health_check.ts): 0 when it is healthy, 1 for
 * anything else, since Docker reserves 2.
 *
 * Log lines go to stderr through a queue that never blocks
 * (src/observability/log_queue.ts); an exit waits up to `LOG_FLUSH_LIMIT_MS`
 * for it to be written. The line that ends the process is JSON under
 * `--log-format json` once the format is known, `echoserver: <message>`
 * otherwise.
 *
 * @module
 */
import {
  type Config,
  ConfigError,
  ENV_VARIABLES,
  parseConfig,
  usage,
} from "./src/config.ts";
import { errorMessage } from "./src/error_message.ts";
import { checkHealth, healthCheckUrl } from "./src/health_check.ts";
import {
  formatLogLine,
  type LogFormat,
  Logger,
} from "./src/observability/log.ts";
import { DROPPED_MESSAGE, LogQueue } from "./src/observability/log_queue.ts";
import { createMetrics } from "./src/observability/metrics.ts";
import { formatHostPort } from "./src/net_addr.ts";
import { type RunningServer, startServer } from "./src/server.ts";
import { readSettingFiles } from "./src/setting_files.ts";
import { ProcessSignals } from "./src/process_signals.ts";
import { VERSION } from "./src/version.ts";

// First of all: until a signal has a listener, Deno's default for it ends the
// process (for SIGUSR1 too, until Deno's own listener for it starts).
const signals = new ProcessSignals(Deno.exit);

/** How long an exit waits for queued log lines: a reader that is gone cannot hold it. */
const LOG_FLUSH_LIMIT_MS = 1_000;

// Where and how the line that ends the process goes: through the log queue,
// in the log format, once those are known; before, at once in plain text.
let logQueue: LogQueue | undefined;
let logFormat: LogFormat | undefined;

/** Writes the line that says why the process ends. */
function fatal(message: string): void {
  const line = logFormat === "json"
    ? formatLogLine("json", "error", message)
    : `echoserver: ${message}`;
  if (logQueue) logQueue.push(line);
  else console.error(line);
}

/** Writes a line to stdout; a failure to write says that it was stdout. */
function print(line: string): void {
  try {
    console.log(line);
  } catch (error) {
    throw new Error(`cannot write to standard output: ${errorMessage(error)}`);
  }
}

async function main(): Promise<number> {
  // Only the variables it reads, which are all that --allow-env grants.
  const env = Object.fromEntries(
    ENV_VARIABLES.map((name) => [name, Deno.env.get(name)]),
  );
  const commandLine = parseConfig(Deno.args, env);
  if (commandLine.kind === "help") {
    print(usage());
    return 0;
  }
  if (commandLine.kind === "version") {
    print(`echoserver ${VERSION}`);
    return 0;
  }
  if (commandLine.kind === "error") {
    logFormat = commandLine.logFormat;
    fatal(`${commandLine.error.message} (see --help)`);
    // Docker reserves a health check's exit 2: any failure there is 1.
    return commandLine.checkingHealth ? 1 : 2;
  }
  if (commandLine.kind === "check-health") {
    logFormat = commandLine.config.logFormat;
    return await checkServiceHealth(commandLine.config, commandLine.url);
  }

  logFormat = commandLine.config.logFormat;
  let config: Config;
  try {
    config = await readSettingFiles(commandLine.config);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    fatal(error.message);
    return 2;
  } finally {
    // Its files read, the service has nothing more to read: a task or binary
    // may grant --allow-read for paths it cannot know, and loses it here.
    Deno.permissions.revokeSync({ name: "read" });
  }
  const metrics = createMetrics();
  const queue = logQueue = new LogQueue({
    onDrop: (lines) => metrics.log.linesDropped.inc(lines),
    droppedLine: (count) =>
      formatLogLine(config.logFormat, "warning", DROPPED_MESSAGE, { count }),
  });
  const logger = new Logger(config.logLevel, {
    format: config.logFormat,
    write: (line) => queue.push(line),
  });
  const shutdown = new AbortController();
  const draining = new AbortController();
  let server: RunningServer;
  try {
    server = startServer(config, {
      shutdown,
      draining: draining.signal,
      logger,
      metrics,
    });
  } catch (error) {
    fatal(errorMessage(error));
    // A bad setting only the network can tell, or a port in use.
    return error instanceof ConfigError ? 2 : 1;
  }
  // Before the service says it is ready, so that no signal finds it deaf.
  signals.serve(shutdown, {
    draining,
    delayMs: config.shutdownDelayMs,
    logger,
  });
  let udpAddr: Deno.NetAddr | undefined;
  try {
    udpAddr = await server.udpAddr;
  } catch (error) {
    // Such as a port in use: the other ports close as the process exits.
    fatal(errorMessage(error));
    return 1;
  }
  const echoScheme = config.tls && !config.tlsEcho ? "tls://" : "";
  const httpScheme = config.tls ? "https" : "http";
  print(
    `echo listening on ${echoScheme}${formatHostPort(server.echoAddr)}`,
  );
  print(
    `http listening on ${httpScheme}://${formatHostPort(server.httpAddr)}/`,
  );
  if (server.tlsEchoAddr) {
    print(`tls echo listening on tls://${formatHostPort(server.tlsEchoAddr)}`);
  }
  if (udpAddr) print(`udp listening on ${formatHostPort(udpAddr)}`);
  await server.finished;
  return 0;
}

/**
 * `--check-health`: 0 when the service that `config` describes, or `url`,
 * answers as healthy, 1 with one line when not. Over TLS it trusts the
 * service's own certificate, read before read permission goes.
 */
async function checkServiceHealth(
  config: Config,
  url = healthCheckUrl(config),
): Promise<number> {
  const cert = config.tlsFiles?.cert;
  let caCerts: string[] | undefined;
  try {
    if (cert) caCerts = [await Deno.readTextFile(cert.path)];
  } catch (error) {
    fatal(
      `${cert!.setting}: ${JSON.stringify(cert!.path)} cannot be read: ${
        errorMessage(error)
      }`,
    );
    return 1;
  } finally {
    Deno.permissions.revokeSync({ name: "read" });
  }
  try {
    await checkHealth(url, { caCerts });
    return 0;
  } catch (error) {
    fatal(`health check of ${url.href} failed: ${errorMessage(error)}`);
    return 1;
  }
}

let exitCode: number;
try {
  exitCode = await main();
} catch (error) {
  // Such as a missing permission: one line, not a stack trace.
  fatal(errorMessage(error));
  exitCode = 1;
}
const flushed = await logQueue?.flush(LOG_FLUSH_LIMIT_MS) ?? true;
// After a clean shutdown nothing is left running: the process ends by itself,
// unless a write to a reader that is gone is pending.
if (exitCode !== 0 || !flushed) Deno.exit(exitCode);
