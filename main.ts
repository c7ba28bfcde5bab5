/**
 * The echoserver process: reads flags and environment, starts the service,
 * turns SIGINT and SIGTERM into its one shutdown signal, and picks the exit
 * code. SIGTERM first takes the service out of rotation for
 * `--shutdown-delay`; SIGINT stops it at once. Exit codes: 0 after a clean
 * shutdown, 1 when the service cannot start (such as a port in use), 2 for
 * bad flags or environment variables, or files they name that cannot be used
 * (read once here, before anything listens), 130 or 143 for a second SIGINT
 * or SIGTERM once shutdown has begun.
 *
 * @module
 */
import { type Config, ConfigError, parseConfig, usage } from "./src/config.ts";
import { errorMessage } from "./src/error_message.ts";
import { Logger } from "./src/log.ts";
import { formatHostPort } from "./src/net_addr.ts";
import { type RunningServer, startServer } from "./src/server.ts";
import { readSettingFiles } from "./src/setting_files.ts";
import { abortOnSignals } from "./src/shutdown_signals.ts";
import { VERSION } from "./src/version.ts";

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
    console.error(`echoserver: ${commandLine.error.message} (see --help)`);
    return 2;
  }

  let config: Config;
  try {
    config = await readSettingFiles(commandLine.config);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`echoserver: ${error.message}`);
    return 2;
  } finally {
    // Its files read, the service has nothing more to read: a task or binary
    // may grant --allow-read for paths it cannot know, and loses it here.
    Deno.permissions.revokeSync({ name: "read" });
  }
  const logger = new Logger(config.logLevel, { format: config.logFormat });
  const shutdown = new AbortController();
  const draining = new AbortController();
  let server: RunningServer;
  try {
    server = startServer(config, {
      shutdown,
      draining: draining.signal,
      logger,
    });
  } catch (error) {
    console.error(`echoserver: ${errorMessage(error)}`);
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

try {
  const exitCode = await main();
  // After a clean shutdown nothing is left running: the process ends by itself.
  if (exitCode !== 0) Deno.exit(exitCode);
} catch (error) {
  // Such as a missing permission: one line, not a stack trace.
  console.error(`echoserver: ${errorMessage(error)}`);
  Deno.exit(1);
}
