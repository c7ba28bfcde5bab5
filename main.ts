/**
 * The echoserver process: reads flags and environment, starts the service,
 * turns SIGTERM, SIGINT, SIGHUP and SIGQUIT into its one shutdown signal, and
 * picks the exit code. SIGTERM first takes the service out of rotation for
 * `--shutdown-delay`; SIGINT, SIGHUP and SIGQUIT stop it at once. SIGUSR1,
 * SIGUSR2 and SIGALRM are ignored, with a warning. The signals are listened
 * to before anything else is done (src/process/process_signals.ts). Exit codes: 0
 * after a clean shutdown, 1 when the service cannot start (such as a port in
 * use, or stdout that cannot be written), 2 for bad flags or environment
 * variables, files they name that cannot be used (read once here, before
 * anything listens), or an HTTP address off loopback with no die token
 * (refused before anything listens), 129, 130, 131 or 143 for a second
 * SIGHUP, SIGINT, SIGQUIT or SIGTERM once shutdown has begun, or for any of
 * them before the service has started. `--check-health` instead checks a
 * running service (src/process/health_check.ts): 0 when it is healthy, 1 for
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
  parseCommandLine,
  type Settings,
  usage,
  VARIABLES_READ,
} from "./src/settings/config.ts";
import { errorMessage } from "./src/net/error_message.ts";
import { checkHealth, healthCheckUrl } from "./src/process/health_check.ts";
import {
  formatLogLine,
  type LogFormat,
  Logger,
} from "./src/observability/log.ts";
import { DROPPED_MESSAGE, LogQueue } from "./src/observability/log_queue.ts";
import { createMetrics, type ServiceMetrics } from "./src/metrics.ts";
import { formatHostPort } from "./src/net/net_addr.ts";
import { type RunningServer, startServer } from "./src/server.ts";
import { readSettingFiles } from "./src/settings/setting_files.ts";
import { ProcessSignals } from "./src/process/process_signals.ts";
import { VERSION } from "./src/version.ts";

// First of all: until a signal has a listener, Deno's default for it ends the
// process (for SIGUSR1 too, until Deno's own listener for it starts).
const signals = new ProcessSignals(Deno.exit);

/** How long an exit waits for queued log lines: a reader that is gone cannot hold it. */
const LOG_FLUSH_LIMIT_MS = 1_000;

/**
 * Where the line that ends the process goes: in the log format once it is
 * known, and through the log queue once there is one; before, in plain text
 * straight to stderr.
 */
interface FatalOutput {
  format?: LogFormat;
  queue?: LogQueue;
}

/** Writes the line that says why the process ends. */
function fatal(message: string, output: FatalOutput = {}): void {
  const line = output.format === "json"
    ? formatLogLine("json", "error", message)
    : `echoserver: ${message}`;
  if (output.queue) output.queue.push(line);
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

/** Does what the command line asks: the exit code. */
async function main(args: readonly string[]): Promise<number> {
  // Only the variables it reads, which are all that --allow-env grants.
  const env = Object.fromEntries(
    VARIABLES_READ.map((name) => [name, Deno.env.get(name)]),
  );
  const commandLine = parseCommandLine(args, env);
  switch (commandLine.kind) {
    case "help":
      print(usage());
      return 0;
    case "version":
      print(`echoserver ${VERSION}`);
      return 0;
    case "error":
      fatal(`${commandLine.error.message} (see --help)`, {
        format: commandLine.logFormat,
      });
      // Docker reserves a health check's exit 2: any failure there is 1.
      return commandLine.checkingHealth ? 1 : 2;
    case "check-health":
      return await checkServiceHealth(commandLine.settings, commandLine.url);
    case "run":
      return await run(commandLine.settings);
  }
}

/**
 * Reads the files the settings name, runs the service until it has shut
 * down, and waits for the log lines to be written: the exit code.
 */
async function run(settings: Settings): Promise<number> {
  const format = settings.logFormat;
  let config: Config;
  try {
    config = await readSettingFiles(settings);
  } catch (error) {
    fatal(errorMessage(error), { format });
    return error instanceof ConfigError ? 2 : 1;
  } finally {
    // Its files read, the service has nothing more to read: a task or binary
    // may grant --allow-read for paths it cannot know, and loses it here.
    Deno.permissions.revokeSync({ name: "read" });
  }
  const metrics = createMetrics();
  const queue = new LogQueue({
    onDrop: (lines) => metrics.log.linesDropped.inc(lines),
    droppedLine: (count) =>
      formatLogLine(format, "warning", DROPPED_MESSAGE, { count }),
  });
  let code: number;
  try {
    code = await serve(config, metrics, queue);
  } catch (error) {
    // Such as standard output that cannot be written.
    fatal(errorMessage(error), { format, queue });
    code = 1;
  }
  // A write to a reader that is gone may still be pending: past the flush
  // limit, the exit does not wait for it.
  if (!await queue.flush(LOG_FLUSH_LIMIT_MS)) Deno.exit(code);
  return code;
}

/** Starts the service, says where it listens, and waits: the exit code. */
async function serve(
  config: Config,
  metrics: ServiceMetrics,
  queue: LogQueue,
): Promise<number> {
  const { logLevel, logFormat: format } = config;
  const logger = new Logger(logLevel, {
    format,
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
    fatal(errorMessage(error), { format, queue });
    // A bad setting only the network can tell, or a port in use.
    return error instanceof ConfigError ? 2 : 1;
  }
  // Before the service says it is ready, so that no signal finds it deaf.
  signals.attach(shutdown, {
    draining,
    delayMs: config.shutdownDelayMs,
    logger,
  });
  let udpAddr: Deno.NetAddr | undefined;
  try {
    udpAddr = await server.udpAddr;
  } catch (error) {
    // Such as a port in use: the other ports close as the process exits.
    fatal(errorMessage(error), { format, queue });
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
 * `--check-health`: 0 when the service that `settings` describe, or `url`,
 * answers as healthy, 1 with one line when not. Over TLS it trusts the
 * service's own certificate, read before read permission goes.
 */
async function checkServiceHealth(
  settings: Settings,
  url = healthCheckUrl(settings),
): Promise<number> {
  const format = settings.logFormat;
  const cert = settings.tlsFiles?.cert;
  let caCerts: string[] | undefined;
  try {
    if (cert) caCerts = [await Deno.readTextFile(cert.path)];
  } catch (error) {
    fatal(
      `${cert!.setting}: ${JSON.stringify(cert!.path)} cannot be read: ${
        errorMessage(error)
      }`,
      { format },
    );
    return 1;
  } finally {
    Deno.permissions.revokeSync({ name: "read" });
  }
  try {
    await checkHealth(url, { caCerts });
    return 0;
  } catch (error) {
    fatal(`health check of ${url.href} failed: ${errorMessage(error)}`, {
      format,
    });
    return 1;
  }
}

const code = await main(Deno.args).catch((error) => {
  // Such as a missing permission: one line, not a stack trace.
  fatal(errorMessage(error));
  return 1;
});
// After a clean shutdown nothing is left running: the process ends by itself.
if (code !== 0) Deno.exit(code);
