/**
 * The echoserver process: reads flags and environment, starts the service,
 * turns SIGINT and SIGTERM into its one shutdown signal, and picks the exit
 * code. Exit codes: 0 after a clean shutdown, 1 when the service cannot
 * start (such as a port in use), 2 for bad flags or environment variables,
 * 130 or 143 for a second SIGINT or SIGTERM during shutdown.
 *
 * @module
 */
import { parseConfig, usage } from "./src/config.ts";
import { errorMessage } from "./src/error_message.ts";
import { formatHostPort } from "./src/net_addr.ts";
import { type RunningServer, startServer } from "./src/server.ts";
import { abortOnSignals } from "./src/shutdown_signals.ts";

async function main(): Promise<number> {
  const commandLine = parseConfig(Deno.args, Deno.env.toObject());
  if (commandLine.kind === "help") {
    console.log(usage());
    return 0;
  }
  if (commandLine.kind === "error") {
    console.error(`echoserver: ${commandLine.error.message} (see --help)`);
    return 2;
  }

  const shutdown = new AbortController();
  let server: RunningServer;
  try {
    server = startServer(commandLine.config, { shutdown });
  } catch (error) {
    console.error(`echoserver: ${errorMessage(error)}`);
    return 1;
  }
  console.log(`echo listening on ${formatHostPort(server.echoAddr)}`);
  console.log(`http listening on http://${formatHostPort(server.httpAddr)}/`);

  const removeSignalListeners = abortOnSignals(shutdown, Deno.exit);
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
