/**
 * The echoserver process: reads flags and environment, starts the service,
 * turns SIGTERM, SIGINT and SIGHUP into its one shutdown signal, and picks
 * the exit code. SIGTERM first takes the service out of rotation for
 * `--shutdown-delay`; SIGINT and SIGHUP stop it at once. Exit codes: 0 after
 * a clean shutdown, 1 when the service cannot start (such as a port in use),
 * 2 for bad flags or environment variables, or files they name that cannot be
 * used (read once here, before anything listens), 129, 130 or 143 for a
 * second SIGHUP, SIGINT or SIGTERM once shutdown has begun.
 *
 * Log lines go to stderr through a queue that never blocks
 * (src/observability/log_queue.ts); an exit waits up to `LOG_FLUSH_LIMIT_MS`
 * for it to be written. The line that ends the process is JSON under
 * `--log-format json` once the format is known, `echoserver: <message>`
 * otherwise.
 *
 * @module
 */
import { type Config, ConfigError, parseConfig, usage } from "./src/config.ts";
import { errorMessage } from "./src/error_message.ts";
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
import { abortOnSignals } from "./src/shutdown_signals.ts";
import { VERSION } from "./src/version.ts";

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

async function main(): Promise<number> {
  const commandLine = parseConfig(Deno.args, Deno.env.toObject());
  if (commandLine.kind === "help") {
    console.log(usage());
    return 0;
  }
  if (commandLine.kind === "version") {
    console.log(`echoserver ${VERSION}`);
    return 0;
  }
  if (commandLine.kind === "error") {
    logFormat = commandLine.logFormat;
    fatal(`${commandLine.error.message} (see --help)`);
    return 2;
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
    return 1;
  }
  // Before the service says it is ready, so that no signal finds it deaf.
  const removeSignalListeners = abortOnSignals(shutdown, {
    forceExit: Deno.exit,
    draining,
    delayMs: config.shutdownDelayMs,
    logger,
  });
  const [echoScheme, httpScheme] = config.tls
    ? ["tls://", "https"]
    : ["", "http"];
  console.log(
    `echo listening on ${echoScheme}${formatHostPort(server.echoAddr)}`,
  );
  console.log(
    `http listening on ${httpScheme}://${formatHostPort(server.httpAddr)}/`,
  );
  await server.finished;
  removeSignalListeners();
  return 0;
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
