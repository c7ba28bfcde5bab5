/**
 * Mutation testing by hand-picked mutants: each breaks one promise the README
 * makes (a timeout, a bound, a limit, a count, a status, the order of
 * shutdown) with a one-line change to `src/` or `main.ts`, and the tests
 * named with it must then fail. Run with `deno task mutate`, optionally with
 * words that pick mutants by name.
 *
 * Each mutant is applied to a copy of the project in a temporary directory,
 * never to `src/` itself, and its tests run there under a time limit. The
 * script prints one line per mutant: `killed` (by the first test that
 * failed), `SURVIVED` (every test passed), `HUNG` (the run reached its time
 * limit with no test failed: the mutant stops something from ending, and no
 * test's own time limit caught it) or `not found` (its line is no longer in
 * its file: the list below needs updating, not the code). It exits 1 unless
 * every mutant was killed.
 *
 * @module
 */

/** One break of one promise. */
interface Mutant {
  /** The promise it breaks, as the README says it. */
  name: string;
  /** The file it changes, under `src/` (`../main.ts` for the process). */
  file: string;
  /** Text that occurs exactly once in the file. */
  from: string;
  /** What it becomes. */
  to: string;
  /** The test files under `tests/` that must catch it. */
  tests: string[];
}

const ECHO = ["echo_test.ts"];
const SERVE = ["serve_echo_test.ts"];
const MAIN = ["main_test.ts"];
const WEBSOCKET = ["websocket_echo_test.ts"];

/** The README's promises, broken one at a time. */
const MUTANTS: Mutant[] = [
  // Echo: how a connection ends.
  {
    name: "a TLS client closing without close_notify ends as closed",
    file: "echo/echo.ts",
    from: '  if (error instanceof Deno.errors.UnexpectedEof) return "closed";',
    to:
      '  if (handshaking && error instanceof Deno.errors.UnexpectedEof) return "closed";',
    tests: ["echo_test.ts", "tls_test.ts"],
  },
  // Echo: timeouts and the drain.
  {
    name: "a silent client is dropped at the initial timeout",
    file: "echo/echo.ts",
    from: "    timeoutMs: timeouts.initialMs,",
    to: "    timeoutMs: timeouts.refreshMs,",
    tests: ECHO,
  },
  {
    name: "each chunk moves the deadline to the refresh timeout",
    file: "echo/echo.ts",
    from: "      ending.deadline.reset(timeouts.refreshMs);",
    to: "      ending.deadline.reset(timeouts.initialMs);",
    tests: ECHO,
  },
  {
    name: "the server's own writes do not move the deadline",
    file: "echo/echo.ts",
    from: "      await ending.write(buffer.subarray(0, size));",
    to:
      "      await ending.write(buffer.subarray(0, size)); ending.deadline.reset(timeouts.refreshMs);",
    tests: ECHO,
  },
  {
    name: "at shutdown a client that stopped reading is closed after 1 s",
    file: "echo/echo.ts",
    from: "    drainMs = 1_000,",
    to: "    drainMs = 100,",
    tests: ECHO,
  },
  {
    name: "the drain never puts off a sooner idle deadline",
    file: "echo/stream_ending.ts",
    from: "    if (this.#writing) this.deadline.limit(this.#drainMs);",
    to: "    if (this.#writing) this.deadline.reset(this.#drainMs);",
    tests: ECHO,
  },
  {
    name: "at shutdown a connection waiting to read closes at once",
    file: "echo/stream_ending.ts",
    from: '    else this.end("shutdown");',
    to: "    else this.deadline.limit(this.#drainMs);",
    tests: ECHO,
  },
  // Read buffers: what an idle client holds, and no allocation per chunk.
  {
    name: "the read buffer starts at 64 bytes",
    file: "net/read_buffers.ts",
    from: "const DEFAULT_OWN_SIZE = 64;",
    to: "const DEFAULT_OWN_SIZE = 128;",
    tests: [...ECHO, "read_buffers_test.ts"],
  },
  {
    name: "a read that fills 64 bytes borrows 1 KiB",
    file: "net/read_buffers.ts",
    from: "const BORROWED_SIZES = [1024, 64 * 1024];",
    to: "const BORROWED_SIZES = [2048, 64 * 1024];",
    tests: [...ECHO, "read_buffers_test.ts"],
  },
  {
    name: "the read buffer grows to 64 KiB at most",
    file: "net/read_buffers.ts",
    from: "const BORROWED_SIZES = [1024, 64 * 1024];",
    to: "const BORROWED_SIZES = [1024, 128 * 1024];",
    tests: [...ECHO, "faults_test.ts"],
  },
  {
    name: "an idle client after a burst waits on its own 64 bytes",
    file: "net/read_buffers.ts",
    from:
      "const step = full ? Math.min(this.#step + 1, BORROWED_SIZES.length) : 0;",
    to:
      "const step = full ? Math.min(this.#step + 1, BORROWED_SIZES.length) : this.#step;",
    tests: [...ECHO, "read_buffers_test.ts"],
  },
  {
    name: "bursts reuse the buffers that bursts before them gave back",
    file: "net/read_buffers.ts",
    from: "return this.#free.get(size)?.pop() ?? new Uint8Array(size);",
    to: "return new Uint8Array(size);",
    tests: ECHO,
  },
  {
    name: "a borrowed buffer goes back however the connection ends",
    file: "echo/echo.ts",
    from: "  using reads = new ReadBuffer(readBuffers);",
    to: "  const reads = new ReadBuffer(readBuffers);",
    tests: ECHO,
  },
  {
    name: "the pool keeps 1 MiB of free buffers of each size",
    file: "net/read_buffers.ts",
    from: "const KEPT_BYTES = 1024 * 1024;",
    to: "const KEPT_BYTES = 2048 * 1024;",
    tests: ["read_buffers_test.ts"],
  },
  {
    name: "a server's connections share one pool",
    file: "echo/serve_echo.ts",
    from: "    readBuffers: new ReadBufferPool(),",
    to: "",
    tests: SERVE,
  },
  {
    name: "a reset ends as reset, any other error as error",
    file: "echo/echo.ts",
    from: '  if (isBroken(error)) return "reset";',
    to: '  if (isBroken(error)) return "error";',
    tests: ECHO,
  },
  // Idle deadlines.
  {
    name: "limit() only ever brings a deadline sooner",
    file: "waiting/deadlines.ts",
    from: "    if (performance.now() + ms < this.expiresAt) this.reset(ms);",
    to: "    this.reset(ms);",
    tests: ["deadlines_test.ts", ...ECHO],
  },
  {
    name: "no deadline timer outlives its last connection",
    file: "waiting/deadlines.ts",
    from: '      this.#timer?.removeEventListener("abort", this.#fire);',
    to: "",
    tests: ["deadlines_test.ts", "process_exit_test.ts", ...ECHO],
  },
  {
    name: "clients one at a time do not each leave a timer behind",
    file: "waiting/deadlines.ts",
    from: "    if (this.#timer === undefined || this.#timer.aborted) {",
    to: "    if (true) {",
    tests: ["deadlines_test.ts"],
  },
  // The accept loop: limit, back-off, logs, metrics, shutdown.
  {
    name: "--max-connections clients are served, the next is closed",
    file: "echo/serve_echo.ts",
    from: "    } else if (served >= maxConnections) {",
    to: "    } else if (served > maxConnections) {",
    tests: SERVE,
  },
  {
    name: "each client over the limit is counted",
    file: "echo/serve_echo.ts",
    from: "      metrics.rejected.inc();",
    to: "",
    tests: SERVE,
  },
  {
    name: "connection ended lines for the limit are throttled",
    file: "echo/serve_echo.ts",
    from: "      rejectionEnds.info(",
    to: "      logger.info(",
    tests: SERVE,
  },
  {
    name: "floods are logged at most once a second",
    file: "observability/throttled_log.ts",
    from: "    this.#intervalMs = options.intervalMs ?? 1_000;",
    to: "    this.#intervalMs = options.intervalMs ?? 500;",
    tests: [...SERVE, "throttled_log_test.ts"],
  },
  {
    name: "out of descriptors, accept backs off from 10 ms",
    file: "waiting/backoff.ts",
    from: "const FIRST_MS = 10;",
    to: "const FIRST_MS = 20;",
    tests: SERVE,
  },
  {
    name: "the back-off is cut short by shutdown",
    file: "waiting/backoff.ts",
    from: "    return pause(this.#ms, signal);",
    to: "    return pause(this.#ms, new AbortController().signal);",
    tests: ["accept_failures_test.ts", ...SERVE, "serve_http_test.ts"],
  },
  {
    name: "out of descriptors, accept backs off up to 1 s",
    file: "waiting/backoff.ts",
    from: "const MAX_MS = 1_000;",
    to: "const MAX_MS = 2_000;",
    tests: ["accept_failures_test.ts"],
  },
  {
    name: "each back-off pause is twice the one before",
    file: "waiting/backoff.ts",
    from: "2 * this.#ms || FIRST_MS",
    to: "4 * this.#ms || FIRST_MS",
    tests: ["accept_failures_test.ts"],
  },
  {
    name: "ENFILE backs off like EMFILE",
    file: "net/accept_failures.ts",
    from: '["EMFILE", "ENFILE", "ENOBUFS", "ENOMEM"]',
    to: '["EMFILE", "ENOBUFS", "ENOMEM"]',
    tests: ["accept_failures_test.ts", ...SERVE],
  },
  {
    name: "a good echo accept starts the back-off over",
    file: "echo/serve_echo.ts",
    from: "      acceptFailures.succeeded();",
    to: "",
    tests: SERVE,
  },
  {
    name: "a good HTTP accept starts the back-off over",
    file: "http/http_connections.ts",
    from: "        failures.succeeded();",
    to: "",
    tests: ["http_connections_test.ts"],
  },
  {
    name:
      "the HTTP server inside that served a second starts its back-off over",
    file: "http/serve_http.ts",
    from: "const BACKOFF_RESET_MS = 1_000;",
    to: "const BACKOFF_RESET_MS = 500;",
    tests: ["serve_http_test.ts"],
  },
  {
    name: "the HTTP side's back-off ends at once on shutdown",
    file: "http/serve_http.ts",
    from: "      await backoff.wait(signal);",
    to: "      await backoff.wait(new AbortController().signal);",
    tests: ["serve_http_test.ts"],
  },
  {
    name: "on shutdown the echo listener closes",
    file: "echo/serve_echo.ts",
    from: "        listener.close();",
    to: "",
    tests: SERVE,
  },
  {
    name: "shutdown waits for every echo connection to end",
    file: "echo/serve_echo.ts",
    from: "    await allEnded.promise;",
    to: "",
    tests: SERVE,
  },
  {
    name: "a flood's held-back line goes out once the flood stops",
    file: "observability/throttled_log.ts",
    from: "      pause(this.#quietUntil - now, this.#signal)",
    to: "      pause(this.#quietUntil - now + 1_000, this.#signal)",
    tests: SERVE,
  },
  {
    name: "a held-back line goes out at shutdown, leaving no timer",
    file: "observability/throttled_log.ts",
    from: "      pause(this.#quietUntil - now, this.#signal)",
    to: "      pause(this.#quietUntil - now, new AbortController().signal)",
    tests: SERVE,
  },
  // The service: HTTP, shutdown and signals.
  {
    name: "GET /healthcheck answers ok computer",
    file: "http/http_app.ts",
    from: '    .get("/healthcheck", (c) => c.text("ok computer"))',
    to: '    .get("/healthcheck", (c) => c.text("ok"))',
    tests: ["http_app_test.ts"],
  },
  {
    name: "/readyz answers 503 once shutdown begins",
    file: "http/http_app.ts",
    from: '? c.text("shutting down", 503)',
    to: '? c.text("shutting down", 200)',
    tests: ["http_app_test.ts"],
  },
  // The manual readiness switch.
  {
    name: "POST /readyz/fail turns /readyz to 503",
    file: "http/http_app.ts",
    from: '? c.text("switched off", 503)',
    to: '? c.text("switched off", 200)',
    tests: ["readiness_test.ts"],
  },
  {
    name: "POST /readyz/ok does not undo a SIGTERM drain",
    file: "http/readiness.ts",
    from: "    return !this.draining && !this.#switchedOff;",
    to: "    return !this.#switchedOff;",
    tests: ["readiness_test.ts"],
  },
  {
    name: "POST /readyz/fail and /readyz/ok need the die token",
    file: "http/http_app.ts",
    from: 'const GUARDED = ["/die", "/readyz/fail", "/readyz/ok"];',
    to: 'const GUARDED = ["/die"];',
    tests: ["readiness_test.ts"],
  },
  {
    name: "the readiness switch's state is in /metrics",
    file: "http/readiness.ts",
    from: "    this.#metrics?.switchedOff.set(this.#switchedOff ? 1 : 0);",
    to: "",
    tests: ["readiness_test.ts"],
  },
  {
    name: "POST /die shuts the whole service down",
    file: "server.ts",
    from: '      onDie: () => shutdown.abort("POST /die"),',
    to: "      onDie: () => {},",
    tests: ["server_test.ts"],
  },
  {
    name: "the HTTP port off loopback needs a die token",
    file: "server.ts",
    from: "  if (isLoopback(bound.hostname)) return;",
    to: "  return;",
    tests: ["faults_test.ts", ...MAIN],
  },
  {
    name: "the HTTP port on loopback needs no die token, however it is written",
    file: "server.ts",
    from: "  if (isLoopback(bound.hostname)) return;",
    to: "  if (bound.hostname === address.hostname) return;",
    tests: ["faults_test.ts", ...MAIN],
  },
  {
    name: "on shutdown the HTTP server stops",
    file: "http/serve_http.ts",
    from: "    const drained = server.shutdown();",
    to: "    const drained = Promise.resolve();",
    tests: ["server_test.ts"],
  },
  {
    name: "a second SIGTERM exits 143",
    file: "process/process_signals.ts",
    from: "SIGQUIT: 3, SIGTERM: 15 }",
    to: "SIGQUIT: 3, SIGTERM: 14 }",
    tests: ["process_signals_test.ts"],
  },
  {
    name: "a second SIGINT exits 130",
    file: "process/process_signals.ts",
    from: "SIGINT: 2, SIGQUIT",
    to: "SIGINT: 6, SIGQUIT",
    tests: ["main_signals_test.ts"],
  },
  {
    name: "a second SIGHUP exits 129",
    file: "process/process_signals.ts",
    from: "{ SIGHUP: 1,",
    to: "{ SIGHUP: 9,",
    tests: ["process_signals_test.ts", "main_signals_test.ts"],
  },
  {
    name: "SIGTERM stops the service after --shutdown-delay",
    file: "process/process_signals.ts",
    from: "      pause(delayMs, shutdown.signal)",
    to: "      pause(2 * delayMs, shutdown.signal)",
    tests: ["process_signals_test.ts", ...MAIN],
  },
  {
    name: "SIGHUP stops the service at once",
    file: "process/process_signals.ts",
    from: "{ SIGHUP: 1, SIGINT: 2,",
    to: "{ SIGINT: 2,",
    tests: ["http_shutdown_test.ts"],
  },
  {
    name: "SIGQUIT stops the service at once, with no core dump",
    file: "process/process_signals.ts",
    from: "SIGINT: 2, SIGQUIT: 3, SIGTERM",
    to: "SIGINT: 2, SIGTERM",
    tests: ["main_signals_test.ts"],
  },
  {
    name: "a second SIGQUIT exits 131",
    file: "process/process_signals.ts",
    from: "SIGQUIT: 3,",
    to: "SIGQUIT: 4,",
    tests: ["main_signals_test.ts"],
  },
  {
    name: "SIGUSR1, SIGUSR2 and SIGALRM are ignored",
    file: "process/process_signals.ts",
    from: '["SIGUSR1", "SIGUSR2", "SIGALRM"]',
    to: '["SIGUSR1", "SIGALRM"]',
    tests: ["main_signals_test.ts"],
  },
  {
    name:
      "each ignored signal is logged at most once a second, apart from the others",
    file: "process/process_signals.ts",
    from: "ignoredLogs[signal]",
    to: "ignoredLogs.SIGUSR1",
    tests: ["process_signals_test.ts"],
  },
  {
    name: "a stopping signal before the service runs ends the process at once",
    file: "process/process_signals.ts",
    from: "      attached === undefined ||",
    to: "      attached === undefined && false ||",
    tests: ["process_signals_test.ts"],
  },
  {
    name: "SIGTERM turns /readyz to 503 at once",
    file: "process/process_signals.ts",
    from: "    draining.abort(signal);",
    to: "",
    tests: ["process_signals_test.ts"],
  },
  {
    name: "SIGINT stops at once, without the delay",
    file: "process/process_signals.ts",
    from: '    if (signal === "SIGTERM" && delayMs > 0) {',
    to: "    if (delayMs > 0) {",
    tests: MAIN,
  },
  {
    name: "shutdown begun another way cuts the delay short",
    file: "process/process_signals.ts",
    from: "      pause(delayMs, shutdown.signal)",
    to: "      pause(delayMs, new AbortController().signal)",
    tests: ["process_signals_test.ts"],
  },
  {
    name: "a pause cut short no longer keeps the process alive",
    file: "waiting/pause.ts",
    from: '      timeout.removeEventListener("abort", done);',
    to: "",
    tests: ["process_signals_test.ts", "process_exit_test.ts", ...MAIN],
  },
  {
    name: "a flag's value may start with a dash",
    file: "settings/command_line.ts",
    from: "takesValue(name) && i + 1 < args.length)",
    to:
      'takesValue(name) && i + 1 < args.length && !args[i + 1].startsWith("-"))',
    tests: ["command_line_test.ts"],
  },
  {
    name: "DENO_SERVE_ADDRESS is refused",
    file: "settings/config.ts",
    from: "  if (serveAddress) {",
    to: "  if (serveAddress && false) {",
    tests: ["config_test.ts"],
  },
  // The defaults the README's table states.
  {
    name: "the idle timeout defaults to 5 s",
    file: "settings/config.ts",
    from: '  env: "ECHOSERVER__IDLE_TIMEOUT__SECONDS",\n  default: "5",',
    to: '  env: "ECHOSERVER__IDLE_TIMEOUT__SECONDS",\n  default: "6",',
    tests: ["config_test.ts"],
  },
  {
    name: "the idle refresh defaults to 30 s",
    file: "settings/config.ts",
    from: '  default: "30",',
    to: '  default: "31",',
    tests: ["config_test.ts"],
  },
  {
    name: "--max-connections defaults to 10000",
    file: "settings/config.ts",
    from: '  default: "10000",',
    to: '  default: "1000",',
    tests: ["config_test.ts"],
  },
  {
    name: "--idle-refresh 0 is refused, as --idle-timeout 0 is",
    file: "settings/config.ts",
    from:
      '  description: "each chunk received gives the client this long again",\n' +
      "  ...POSITIVE_SECONDS,",
    to:
      '  description: "each chunk received gives the client this long again",\n' +
      "  ...ZERO_OR_MORE_SECONDS,",
    tests: ["config_test.ts"],
  },
  // Setting files: bounded, regular, never waited on.
  {
    name: "a token file of 64 KiB is read, and of one byte more refused",
    file: "settings/setting_files.ts",
    from: "const MAX_TOKEN_FILE_BYTES = 64 * 1024;",
    to: "const MAX_TOKEN_FILE_BYTES = 64 * 1024 + 1;",
    tests: ["setting_files_test.ts"],
  },
  {
    name: "a token file of exactly 64 KiB is read",
    file: "settings/setting_files.ts",
    from: "const MAX_TOKEN_FILE_BYTES = 64 * 1024;",
    to: "const MAX_TOKEN_FILE_BYTES = 64 * 1024 - 1;",
    tests: ["setting_files_test.ts"],
  },
  {
    name: "a certificate or key of 1 MiB is read, and of one byte more refused",
    file: "settings/setting_files.ts",
    from: "const MAX_PEM_FILE_BYTES = 1024 * 1024;",
    to: "const MAX_PEM_FILE_BYTES = 1024 * 1024 + 1;",
    tests: ["setting_files_test.ts"],
  },
  {
    name: "a certificate or key of exactly 1 MiB is read",
    file: "settings/setting_files.ts",
    from: "const MAX_PEM_FILE_BYTES = 1024 * 1024;",
    to: "const MAX_PEM_FILE_BYTES = 1024 * 1024 - 1;",
    tests: ["setting_files_test.ts"],
  },
  {
    name: "a setting file that is a FIFO is refused before it is opened",
    file: "settings/read_bounded_file.ts",
    from: "  checkRegular(await Deno.stat(path));",
    to: "",
    tests: MAIN,
  },
  {
    name: "a setting file is read only one byte past its bound",
    file: "settings/read_bounded_file.ts",
    from: "new Uint8Array(maxBytes + 1)",
    to: "new Uint8Array(maxBytes)",
    tests: ["read_bounded_file_test.ts"],
  },
  {
    name: "the HTTP idle timeout defaults to 5 s",
    file: "settings/config.ts",
    from: '  env: "ECHOSERVER__HTTP_IDLE_TIMEOUT__SECONDS",\n  default: "5",',
    to: '  env: "ECHOSERVER__HTTP_IDLE_TIMEOUT__SECONDS",\n  default: "6",',
    tests: ["config_test.ts"],
  },
  {
    name: "the HTTP request timeout defaults to 10 s",
    file: "settings/config.ts",
    from: '  default: "10",',
    to: '  default: "11",',
    tests: ["config_test.ts"],
  },
  {
    name: "--http-max-connections defaults to 512",
    file: "settings/config.ts",
    from: '  default: "512",',
    to: '  default: "511",',
    tests: ["config_test.ts"],
  },
  // The HTTP side: the Host check, serving again, the bounded drain.
  {
    name: "a Host that is not host[:port] gets 400",
    file: "http/request_target.ts",
    from: "  return host === null || VALID_HOST.test(host);",
    to: "  return true;",
    tests: ["request_target_test.ts"],
  },
  {
    name: "a request-target not in plain form gets 400 before routing",
    file: "http/request_target.ts",
    from: "    if (!PLAIN_URL.test(request.url)) {",
    to: "    if (false) {",
    tests: ["haproxy_test.ts", "request_target_test.ts"],
  },
  {
    name: "a percent-encoded path gets 400",
    file: "http/request_target.ts",
    from: ",;=:@]+`;",
    to: ",;=:@%]+`;",
    tests: ["request_target_test.ts"],
  },
  {
    name: "a path with a dot segment gets 400",
    file: "http/request_target.ts",
    from: "String.raw`(?!\\.\\.?(?:[/?]|$))",
    to: "String.raw`",
    tests: ["request_target_test.ts"],
  },
  {
    name: "a path with an empty segment gets 400",
    file: "http/request_target.ts",
    from: ",;=:@]+`;",
    to: ",;=:@]*`;",
    tests: ["request_target_test.ts"],
  },
  {
    name: "a request-target with a fragment gets 400",
    file: "http/request_target.ts",
    from: "(?:\\?[^#]*)?",
    to: "(?:\\?.*)?",
    tests: ["request_target_test.ts"],
  },
  {
    name: "a request-target not in plain form is counted as route other",
    file: "http/request_target.ts",
    from: "  return hasValidHost(request) && PLAIN_URL.test(request.url)",
    to: "  return hasValidHost(request)",
    tests: ["request_target_test.ts"],
  },
  {
    name: "a 400 before routing closes its connection",
    file: "http/request_target.ts",
    from: 'return closingResponse(400, "bad request target");',
    to: 'return new Response("bad request target", { status: 400 });',
    tests: ["request_target_test.ts"],
  },
  {
    name: "a closing answer says Connection: close once",
    file: "http/http_connections.ts",
    from: '      response.headers.delete("connection");',
    to: "",
    tests: ["request_target_test.ts"],
  },
  {
    name: "a /die body that cannot be read, such as malformed chunks, gets 400",
    file: "http/discard_body.ts",
    from: 'throw new HTTPException(400, { message: "bad request body" });',
    to: 'throw new Error("bad request body");',
    tests: ["discard_body_test.ts", "server_test.ts"],
  },
  {
    name: "a /die body of exactly 1 KiB is taken",
    file: "http/http_app.ts",
    from: "const MAX_BODY_BYTES = 1024;",
    to: "const MAX_BODY_BYTES = 1023;",
    tests: ["http_app_test.ts"],
  },
  {
    name: "a /die body over 1 KiB gets 413",
    file: "http/http_app.ts",
    from: "const MAX_BODY_BYTES = 1024;",
    to: "const MAX_BODY_BYTES = 1025;",
    tests: ["http_app_test.ts"],
  },
  {
    name: "a chunked /die body of exactly the limit is taken",
    file: "http/discard_body.ts",
    from: "      if (bytes > maxBytes) return false;",
    to: "      if (bytes >= maxBytes) return false;",
    tests: ["http_app_test.ts"],
  },
  {
    name: "a /die body whose Content-Length is exactly the limit is taken",
    file: "http/discard_body.ts",
    from: "    if (Number(length) > maxBytes) return false;",
    to: "    if (Number(length) >= maxBytes) return false;",
    tests: ["http_app_test.ts"],
  },
  {
    name: "the HTTP server inside starts again after its accept fails",
    file: "http/serve_http.ts",
    from: '      failed(failure, "http server failed: starting it again");',
    to: "      return;",
    tests: ["serve_http_test.ts"],
  },
  {
    name: "HTTP clients are relayed to the server inside as it is now",
    file: "http/serve_http.ts",
    from:
      '    () => Deno.connect({ hostname: "127.0.0.1", port: server.port }),',
    to:
      '    ((port) => () => Deno.connect({ hostname: "127.0.0.1", port }))(server.port),',
    tests: ["serve_http_test.ts"],
  },
  {
    name: "HTTP clients still connected at the drain deadline are cut",
    file: "http/http_connections.ts",
    from:
      "    const deadline = this.#deadlines.set(ms, () => cut = this.#cutAll());",
    to: "    const deadline = this.#deadlines.set(ms, () => cut = 0);",
    tests: ["serve_http_test.ts"],
  },
  {
    name: "the HTTP drain deadline is 1 s",
    file: "http/serve_http.ts",
    from: "tls, drainMs = 1_000 } = options;",
    to: "tls, drainMs = 2_000 } = options;",
    tests: ["serve_http_test.ts", "http_shutdown_test.ts"],
  },
  // The HTTP port's deadlines, limit and closing responses.
  {
    name: "bytes in the middle of a request do not move its deadline",
    file: "http/connection_deadline.ts",
    from:
      "  clientData(): void {\n    if (this.#waiting) this.#beginRequest();",
    to: "  clientData(): void {\n    this.#beginRequest();",
    tests: ["connection_deadline_test.ts"],
  },
  {
    name: "a connection waits again once its last response is out",
    file: "http/connection_deadline.ts",
    from: "    this.#waiting = true;",
    to: "",
    tests: ["connection_deadline_test.ts"],
  },
  {
    name: "an HTTP client at the limit takes the place of an idle one",
    file: "http/http_connections.ts",
    from: "      if (counted >= maxConnections && this.#evictOne()) {",
    to: "      if (false) {",
    tests: ["http_connections_test.ts"],
  },
  {
    name: "--http-max-connections are served, the next is closed",
    file: "http/http_connections.ts",
    from: "      } else if (counted >= maxConnections) {",
    to: "      } else if (counted > maxConnections) {",
    tests: ["http_connections_test.ts"],
  },
  {
    name: "a response that says Connection: close closes the connection",
    file: "http/http_connections.ts",
    from: "    completed.then(finish, finish);",
    to: "",
    tests: ["http_connections_test.ts", "held_descriptors_test.ts"],
  },
  // The TLS echo port's relays.
  {
    name: "a silent TLS client's descriptors are freed at its idle deadline",
    file: "echo/relayed_tls_listener.ts",
    from: "    this.#relay.finish();",
    to: "",
    tests: ["held_descriptors_test.ts"],
  },
  {
    name: "a relayed TLS client that does not read is cut 1 s after its close",
    file: "echo/relayed_tls_listener.ts",
    from: "options.drainMs ?? 1_000",
    to: "options.drainMs ?? 2_000",
    tests: ["relayed_tls_listener_test.ts"],
  },
  {
    name: "a TLS echo client at the limit takes the place of a silent one",
    file: "echo/serve_echo.ts",
    from: "    if (served >= maxConnections && silent.evictOldest()) {",
    to: "    if (false) {",
    tests: SERVE,
  },
  // Settings.
  {
    name: "a duration longer than a timer holds is refused",
    file: "settings/config.ts",
    from: "  DECIMAL.test(raw) && Number(raw) <= MAX_SECONDS",
    to: "  DECIMAL.test(raw)",
    tests: ["config_test.ts"],
  },
  {
    name: "an empty environment variable counts as unset",
    file: "settings/config.ts",
    from: "      : [setting.env, env[setting.env] || setting.default];",
    to: "      : [setting.env, env[setting.env] ?? setting.default];",
    tests: ["config_test.ts"],
  },
  // The health check.
  {
    name: "--check-health gives up on a hung server after 2 s",
    file: "process/health_check.ts",
    from: "export const HEALTH_CHECK_TIMEOUT_MS = 2_000;",
    to: "export const HEALTH_CHECK_TIMEOUT_MS = 4_000;",
    tests: ["health_check_test.ts"],
  },
  {
    name: "--check-health passes only a 200 that says ok computer",
    file: "process/health_check.ts",
    from: '  if (status !== "200" || body !== HEALTHY_BODY) {',
    to: '  if (status !== "200") {',
    tests: ["health_check_test.ts"],
  },
  {
    name: "--check-health lets go of its timer once answered",
    file: "process/health_check.ts",
    from: '    timeout.removeEventListener("abort", expire);',
    to: "",
    tests: ["health_check_test.ts", "process_exit_test.ts"],
  },
  // Logs, the PROXY protocol, TLS.
  {
    name: "a log line that finds the queue full is dropped and counted",
    file: "observability/log_queue.ts",
    from: "      this.#onDrop(1);",
    to: "",
    tests: ["log_queue_test.ts"],
  },
  {
    name: "at most 256 KiB of log lines wait behind the write in flight",
    file: "observability/log_queue.ts",
    from: "export const LOG_QUEUE_BYTES = 256 * 1024;",
    to: "export const LOG_QUEUE_BYTES = 512 * 1024;",
    tests: ["log_queue_test.ts"],
  },
  {
    name: "a log line needs room for its newline, or it is dropped whole",
    file: "observability/log_queue.ts",
    from: "written === room.length",
    to: "written > room.length",
    tests: ["log_queue_test.ts"],
  },
  {
    name: "log lines that arrive while a write is in flight go out in the next",
    file: "observability/log_queue.ts",
    from: "      while (this.#filledLines > 0) {",
    to: "      if (this.#filledLines > 0) {",
    tests: ["log_queue_test.ts"],
  },
  {
    name: "flush() also writes the lines pushed while a write is pending",
    file: "observability/log_queue.ts",
    from: "while (this.#writing !== undefined || this.#filledLines > 0)",
    to: "while (this.#writing !== undefined)",
    tests: ["log_queue_test.ts"],
  },
  {
    name: "an exit waits up to 1 s for a log reader that is gone",
    file: "../main.ts",
    from: "const LOG_FLUSH_LIMIT_MS = 1_000;",
    to: "const LOG_FLUSH_LIMIT_MS = 2_000;",
    tests: ["log_process_test.ts"],
  },
  {
    name: "the running process can read no file",
    file: "../main.ts",
    from: 'loses it here.\n    Deno.permissions.revokeSync({ name: "read" });',
    to: "loses it here.",
    tests: MAIN,
  },
  {
    name:
      "no node: module loads before the ports open, even by a dynamic import",
    file: "../main.ts",
    from: "  const metrics = createMetrics();",
    to: '  const metrics = createMetrics();\n  import("node:process");',
    tests: ["startup_imports_test.ts"],
  },
  {
    name: "echoed bytes are counted as each chunk goes back, not before",
    file: "echo/echo.ts",
    from: "      await ending.write(buffer.subarray(0, size));\n" +
      "      bytesEchoed += size;\n      bytesCounter?.inc(size);",
    to: "      bytesCounter?.inc(size);\n" +
      "      await ending.write(buffer.subarray(0, size));\n" +
      "      bytesEchoed += size;",
    tests: ECHO,
  },
  {
    name: "connection durations are counted in buckets from 10 ms to 1 h",
    file: "echo/echo_metrics.ts",
    from: "300, 1800, 3600];",
    to: "300, 1800];",
    tests: ["metrics_test.ts"],
  },
  {
    name: "a v2 PROXY header may be at most 4 KiB",
    file: "echo/proxy_protocol.ts",
    from: "export const MAX_PROXY_HEADER_BYTES = 4096;",
    to: "export const MAX_PROXY_HEADER_BYTES = 8192;",
    tests: ["proxy_protocol_test.ts", "read_proxy_header_test.ts"],
  },
  {
    name: "a client's IPv6 address is logged in RFC 5952 form",
    file: "echo/ip_address.ts",
    from:
      "    if (end - index > length) [start, length] = [index, end - index];",
    to:
      "    if (end - index >= length) [start, length] = [index, end - index];",
    tests: ["proxy_protocol_test.ts", "read_proxy_header_test.ts"],
  },
  {
    name: "bytes after the PROXY header are echoed, the header never",
    file: "echo/read_proxy_header.ts",
    from: "      const rest = buffer.slice(parsed.length, received);",
    to: "      const rest = buffer.slice(0, received);",
    tests: ["read_proxy_header_test.ts"],
  },
  {
    name: "the idle deadline covers the TLS handshake",
    file: "echo/echo.ts",
    from: "  using ending = new StreamEnding(stream, {",
    to:
      "  if (stream.handshake) await stream.handshake();\n  using ending = new StreamEnding(stream, {",
    tests: ["tls_test.ts"],
  },
  // WebSocket echo.
  {
    name: "a silent WebSocket is closed at the initial timeout",
    file: "websocket/websocket_echo.ts",
    from: "deadlines.set(timeouts.initialMs, this.#expire);",
    to: "deadlines.set(timeouts.refreshMs, this.#expire);",
    tests: WEBSOCKET,
  },
  {
    name: "each WebSocket message moves the deadline to the refresh timeout",
    file: "websocket/websocket_echo.ts",
    from: "    this.#deadline.reset(timeouts.refreshMs);",
    to: "    this.#deadline.reset(timeouts.initialMs);",
    tests: WEBSOCKET,
  },
  {
    name: "the WebSocket's own sends do not move the deadline",
    file: "websocket/websocket_echo.ts",
    from:
      "      if (options.banner !== undefined) socket.send(options.banner);",
    to:
      "      if (options.banner !== undefined) { socket.send(options.banner); this.#deadline.reset(timeouts.refreshMs); }",
    tests: WEBSOCKET,
  },
  {
    name: "a WebSocket client that does not answer the close is cut after 1 s",
    file: "websocket/websocket_echo.ts",
    from: "    this.#deadline.reset(this.#options.drainMs ?? 1_000);",
    to: "    this.#deadline.reset(this.#options.drainMs ?? 2_000);",
    tests: WEBSOCKET,
  },
  {
    name: "a silent WebSocket is closed with 1000",
    file: "websocket/websocket_echo.ts",
    from: '  idle: [1000, "idle timeout"],',
    to: '  idle: [1001, "idle timeout"],',
    tests: WEBSOCKET,
  },
  {
    name: "a WebSocket message over the limit closes with 1009",
    file: "websocket/websocket_echo.ts",
    from: '  too_big: [1009, "message too big"],',
    to: '  too_big: [1008, "message too big"],',
    tests: WEBSOCKET,
  },
  {
    name: "the messages before one too big are echoed before the 1009",
    file: "websocket/websocket_echo.ts",
    from: '    if (this.#messages >= messagesBefore) this.#close("too_big");',
    to: '    this.#close("too_big");',
    tests: WEBSOCKET,
  },
  {
    name: "over TLS a WebSocket message over the limit closes with 1009",
    file: "websocket/websocket_echo.ts",
    from: '    if (bytes > maxMessageBytes) return this.#close("too_big");',
    to: '    if (bytes >= maxMessageBytes) return this.#close("too_big");',
    tests: WEBSOCKET,
  },
  {
    name: "a WebSocket message of exactly --ws-max-message passes",
    file: "websocket/message_size_limit.ts",
    from: "    if (this.#messageBytes > this.#maxBytes) return false;",
    to: "    if (this.#messageBytes >= this.#maxBytes) return false;",
    tests: ["message_size_limit_test.ts"],
  },
  {
    name: "a fragmented WebSocket message counts all its fragments",
    file: "websocket/message_size_limit.ts",
    from: "    this.#messageBytes += payload;",
    to: "    this.#messageBytes = payload;",
    tests: ["message_size_limit_test.ts", "websocket_process_test.ts"],
  },
  {
    name: "a WebSocket client that does not read is not read",
    file: "websocket/serve_websockets.ts",
    from: "export const HOLD_BYTES = 64 * 1024;",
    to: "export const HOLD_BYTES = Infinity;",
    tests: ["websocket_test.ts"],
  },
  {
    name: "at shutdown each WebSocket ends for shutdown",
    file: "server.ts",
    from: "    webSockets.close(),\n",
    to: "",
    tests: ["websocket_test.ts"],
  },
  {
    name: "a handshake over --ws-max-connections gets 503",
    file: "websocket/serve_websockets.ts",
    from: "    if (open >= maxConnections) {",
    to: "    if (open > maxConnections) {",
    tests: ["websocket_test.ts"],
  },
  {
    name: "a handshake with bytes sent behind it is refused",
    file: "http/http_connections.ts",
    from: "    const aligned = !seen || this.#firstHead?.bytesAfter === 0;",
    to:
      "    const aligned = !seen || this.#firstHead?.bytesAfter !== undefined;",
    tests: ["websocket_test.ts"],
  },
  {
    name: "a WebSocket is not counted against --http-max-connections",
    file: "http/http_connections.ts",
    from: "      const counted = this.#open - this.#upgraded;",
    to: "      const counted = this.#open;",
    tests: ["websocket_test.ts"],
  },
  {
    name: "a WebSocket is never evicted by an HTTP client once its 101 is out",
    file: "http/http_connections.ts",
    from: "    if (this.#upgrade !== undefined) return;\n    this.#deadline",
    to: "    this.#deadline",
    tests: ["websocket_test.ts"],
  },
  {
    name: "a WebSocket leaves the HTTP deadlines",
    file: "http/http_connections.ts",
    from: "    this.#deadline[Symbol.dispose]();\n    this.#onUpgrade();",
    to: "    this.#onUpgrade();",
    tests: ["websocket_test.ts"],
  },
  {
    name: "a held client is read again once what the server sent is out",
    file: "net/relay.ts",
    from: "        if (this.#release !== undefined && !this.#holdClient!()) {",
    to: "        if (false && this.#release !== undefined) {",
    tests: ["relay_test.ts"],
  },
  {
    name:
      "a held client waits on the relay's own 512 bytes, not a borrowed buffer",
    file: "net/relay.ts",
    from: "          reads[Symbol.dispose]();\n          await this.#held();",
    to: "          await this.#held();",
    tests: ["relay_test.ts"],
  },
  {
    name: "a relay reads into 512 bytes of its own each way, not 64",
    file: "net/relay.ts",
    from: "const OWN_READ_BUFFER_SIZE = 512;",
    to: "const OWN_READ_BUFFER_SIZE = 64;",
    tests: ["relay_test.ts"],
  },
  // Which replica answered: the banner and X-Served-By.
  {
    name: "--banner goes to each WebSocket client too",
    file: "server.ts",
    from:
      "    maxMessageBytes: config.wsMaxMessageBytes,\n    banner: config.banner,",
    to: "    maxMessageBytes: config.wsMaxMessageBytes,",
    tests: ["websocket_test.ts"],
  },
  {
    name: "the banner does not move the initial deadline",
    file: "echo/echo.ts",
    from: "      await ending.write(new TextEncoder().encode(`${banner}\\n`));",
    to:
      "      await ending.write(new TextEncoder().encode(`${banner}\\n`));\n      ending.deadline.reset(timeouts.refreshMs);",
    tests: ["banner_test.ts"],
  },
  {
    name: "the banner is not counted as echoed bytes",
    file: "echo/echo.ts",
    from: "      await ending.write(new TextEncoder().encode(`${banner}\\n`));",
    to:
      "      await ending.write(new TextEncoder().encode(`${banner}\\n`));\n      bytesEchoed += banner.length + 1;",
    tests: ["banner_test.ts"],
  },
  {
    name: "a banner placeholder the service does not know is a bad setting",
    file: "settings/banner.ts",
    from: "    if (!Object.hasOwn(PLACEHOLDERS, name)) {",
    to: "    if (false) {",
    tests: ["banner_test.ts"],
  },
  {
    name: "a banner with any control character in it is a bad setting",
    file: "settings/banner.ts",
    from: "const CONTROL = /\\p{Cc}/u;",
    to: "const CONTROL = /[\\n\\r]/;",
    tests: ["banner_test.ts"],
  },
  {
    name: "a banner of 1024 bytes is taken, and of one byte more refused",
    file: "settings/banner.ts",
    from: "export const MAX_BANNER_BYTES = 1024;",
    to: "export const MAX_BANNER_BYTES = 1025;",
    tests: ["banner_test.ts"],
  },
  {
    name: "--served-by puts X-Served-By on every HTTP response",
    file: "server.ts",
    from:
      "      config.servedBy ? addServedBy(config.servedBy, refusing) : refusing,",
    to: "      refusing,",
    tests: ["banner_test.ts"],
  },
  {
    name: "--served-by must render as printable ASCII",
    file: "settings/config.ts",
    from: "const HEADER_VALUE = /^[\\x20-\\x7e]*$/;",
    to: "const HEADER_VALUE = /^.*$/;",
    tests: ["banner_test.ts"],
  },
  // Plain and TLS echo side by side.
  {
    name: "with --tls-echo-port the echo port stays plain",
    file: "server.ts",
    from: "      tls && !tlsEcho",
    to: "      tls",
    tests: ["tls_echo_port_test.ts"],
  },
  {
    name: "--tls-echo-port without --tls-cert is a bad setting",
    file: "settings/config.ts",
    from:
      "  if (tlsEchoPort !== undefined && settings.tlsFiles === undefined) {",
    to: "  if (false) {",
    tests: ["tls_echo_port_test.ts"],
  },
  {
    name: "echo connections are counted by the port they came in on",
    file: "echo/serve_echo.ts",
    from: "String(conn.handshake !== undefined)",
    to: '"false"',
    tests: ["tls_echo_port_test.ts"],
  },
  {
    name: "closing the merged listener closes a client no accept has taken",
    file: "echo/merged_listener.ts",
    from:
      '      if ("conn" in outcome) outcome.conn.close();\n    }\n    this.#ready = [];',
    to: "    }\n    this.#ready = [];",
    tests: ["tls_echo_port_test.ts"],
  },
  // UDP echo.
  {
    name: "without --udp no node: module loads before the ports open",
    file: "server.ts",
    from: 'import { Readiness } from "./http/readiness.ts";',
    to:
      'import { Readiness } from "./http/readiness.ts";\nimport "./echo/udp_echo.ts";',
    tests: ["startup_imports_test.ts"],
  },
  {
    name: "every datagram comes back byte for byte",
    file: "echo/datagram_echo.ts",
    from: "      socket.send(message, source.port, source.address, done);",
    to:
      "      socket.send(message.subarray(1), source.port, source.address, done);",
    tests: ["udp_echo_test.ts"],
  },
  {
    name: "each datagram echoed is counted",
    file: "echo/datagram_echo.ts",
    from: "        metrics.datagrams.inc();",
    to: "",
    tests: ["udp_echo_test.ts"],
  },
  {
    name: "at most 64 UDP echoes wait to be sent; more are dropped and counted",
    file: "echo/datagram_echo.ts",
    from: "maxInFlight = 64,",
    to: "maxInFlight = 65,",
    tests: ["udp_echo_test.ts"],
  },
  {
    name: "a datagram from a port below 1024 is not echoed",
    file: "echo/datagram_echo.ts",
    from: "  return port < 1024 || port === ownPort;",
    to: "  return port === ownPort;",
    tests: ["udp_echo_test.ts"],
  },
  {
    name: "a datagram from the UDP echo's own port number is not echoed",
    file: "echo/udp_echo.ts",
    from:
      "echoDatagrams(socket, { ...options, ownPort: socket.address().port }),",
    to: "echoDatagrams(socket, options),",
    tests: ["udp_echo_test.ts"],
  },
  {
    name: "on shutdown the UDP socket waits for the echoes under way",
    file: "echo/datagram_echo.ts",
    from: "    if (inFlight > 0) {",
    to: "      if (false) {",
    tests: ["udp_echo_test.ts"],
  },
  {
    name: "on shutdown the UDP socket closes after 1 s at most",
    file: "echo/datagram_echo.ts",
    from: "drainMs = 1_000",
    to: "drainMs = 2_000",
    tests: ["udp_echo_test.ts"],
  },
  {
    name: "shutdown closes the UDP socket",
    file: "echo/datagram_echo.ts",
    from: "socket.close(resolve)",
    to: "resolve()",
    tests: ["udp_echo_test.ts"],
  },
  {
    name: "the service's shutdown closes the UDP echo with the other ports",
    file: "server.ts",
    from: "    udp?.then((udp) => udp.close()),",
    to: "",
    tests: ["udp_echo_test.ts"],
  },
];

/**
 * The longest time limit a test sets itself (`tests/log_process_test.ts`):
 * a run that a mutant slows is given that long to fail on its own, so that a
 * test failing at its own limit counts as a kill, not as a hang.
 */
const LONGEST_TEST_LIMIT_MS = 60_000;
const ROOT = new URL("..", import.meta.url).pathname;
/** What the tests need of the project. */
const COPIED = ["main.ts", "deno.json", "deno.lock", "src", "tests", "deploy"];
const TEST_FLAGS = [
  "--no-check",
  "--fail-fast",
  "--allow-net",
  "--allow-env",
  "--allow-run",
  "--allow-read",
];

/** What became of a mutant. */
type Outcome =
  | `killed by ${string}`
  | "SURVIVED"
  | `HUNG past ${number} s`
  | "not found";

/** How a run of test files ended. */
type Run =
  | { kind: "passed" }
  | { kind: "failed"; first?: string }
  | { kind: "hung" };

async function main(words: string[]): Promise<number> {
  const chosen = MUTANTS.filter((mutant) =>
    words.every((word) => mutant.name.includes(word))
  );
  if (chosen.length === 0) {
    console.log(`no mutant's name has every one of: ${words.join(", ")}`);
    return 1;
  }
  const copy = await Deno.makeTempDir({ prefix: "echoserver-mutate-" });
  const outcomes: Outcome[] = [];
  try {
    if (!await run("cp", ["-r", ...COPIED, copy], ROOT)) {
      throw new Error(`cannot copy the project to ${copy}`);
    }
    // Unmutated, the same tests must pass, or no kill would mean anything;
    // how long they take sets each mutant's time limit.
    const files = [...new Set(chosen.flatMap((mutant) => mutant.tests))];
    const started = performance.now();
    const unmutated = await runTests(copy, files, 10 * 60_000);
    const limitMs = runLimitMs(performance.now() - started);
    if (unmutated.kind !== "passed") {
      const which = unmutated.kind === "failed" ? unmutated.first : undefined;
      console.log(
        `the tests fail without any mutant: ${which ?? files.join(" ")}`,
      );
      return 1;
    }
    for (const mutant of chosen) {
      const started = performance.now();
      const outcome = await tryMutant(copy, mutant, limitMs);
      const seconds = (performance.now() - started) / 1000;
      outcomes.push(outcome);
      console.log(`${mutant.name}: ${outcome} (${seconds.toFixed(1)} s)`);
    }
  } finally {
    await Deno.remove(copy, { recursive: true });
  }
  console.log(`\n${summary(outcomes)}`);
  return outcomes.every((outcome) => outcome.startsWith("killed")) ? 0 : 1;
}

/**
 * A mutant's run limit: twice what its tests took unmutated (the whole
 * chosen set's time, so never less than its own), plus the longest limit a
 * test sets itself.
 */
function runLimitMs(unmutatedMs: number): number {
  return Math.ceil(2 * unmutatedMs) + LONGEST_TEST_LIMIT_MS;
}

/** "40 of 42 mutants killed; 1 hung; 1 survived", and any not found. */
function summary(outcomes: Outcome[]): string {
  const count = (prefix: string) =>
    outcomes.filter((outcome) => outcome.startsWith(prefix)).length;
  const parts = [
    `${count("killed")} of ${outcomes.length} mutants killed`,
    `${count("HUNG")} hung`,
    `${count("SURVIVED")} survived`,
  ];
  const lost = count("not found");
  if (lost > 0) parts.push(`${lost} not found`);
  return parts.join("; ");
}

/** Applies one mutant to the copy, runs its tests, and puts the file back. */
async function tryMutant(
  copy: string,
  mutant: Mutant,
  limitMs: number,
): Promise<Outcome> {
  const path = `${copy}/src/${mutant.file}`;
  const original = await Deno.readTextFile(path);
  if (original.split(mutant.from).length !== 2) return "not found";
  try {
    await Deno.writeTextFile(path, original.replace(mutant.from, mutant.to));
    const result = await runTests(copy, mutant.tests, limitMs);
    if (result.kind === "passed") return "SURVIVED";
    if (result.kind === "hung") {
      return `HUNG past ${Math.round(limitMs / 1000)} s`;
    }
    return `killed by ${result.first ?? "a failed run"}`;
  } finally {
    await Deno.writeTextFile(path, original);
  }
}

/**
 * Runs test files of the copy, for `limitMs` at most: whether they passed,
 * failed (and the first test that did) or were still running at the limit
 * with no test failed. The run is a process group of its own, so that at the
 * limit the services its tests started go with it.
 */
async function runTests(
  copy: string,
  files: string[],
  limitMs: number,
): Promise<Run> {
  const child = new Deno.Command("setsid", {
    args: [
      Deno.execPath(),
      "test",
      ...TEST_FLAGS,
      ...files.map((file) => `tests/${file}`),
    ],
    cwd: copy,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "null",
  }).spawn();
  let hung = false;
  const timer = setTimeout(() => {
    hung = true;
    Deno.kill(-child.pid, "SIGKILL");
  }, limitMs);
  try {
    const { success, stdout } = await child.output();
    const first = new TextDecoder().decode(stdout).match(
      /^(.*) \.\.\. FAILED/m,
    )?.[1];
    if (success) return { kind: "passed" };
    if (first === undefined && hung) return { kind: "hung" };
    return { kind: "failed", first: first && `"${first}"` };
  } finally {
    clearTimeout(timer);
  }
}

/** Runs a command quietly in `cwd`: whether it passed. */
async function run(
  command: string,
  args: string[],
  cwd: string,
): Promise<boolean> {
  const { success } = await new Deno.Command(command, {
    args,
    cwd,
    stdout: "null",
    stderr: "null",
  }).output();
  return success;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
