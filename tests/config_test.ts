import assert from "node:assert/strict";
import {
  parseCommandLine,
  type Settings,
  usage,
} from "../src/settings/config.ts";
import { HEALTH_CHECK_TIMEOUT_MS } from "../src/process/health_check.ts";

function settingsOf(
  args: string[],
  env: Record<string, string> = {},
): Settings {
  const parsed = parseCommandLine(args, env);
  assert.equal(parsed.kind, "run", JSON.stringify(parsed));
  return (parsed as { settings: Settings }).settings;
}

function errorOf(args: string[], env: Record<string, string> = {}): string {
  const parsed = parseCommandLine(args, env);
  assert.equal(parsed.kind, "error");
  return (parsed as { error: Error }).error.message;
}

Deno.test("parseCommandLine() defaults to the original service's settings", () => {
  assert.deepEqual(settingsOf([]), {
    echo: { hostname: "0.0.0.0", port: 4000 },
    http: { hostname: "127.0.0.1", port: 4001 },
    idle: { initialMs: 5_000, refreshMs: 30_000 },
    maxConnections: 10_000,
    httpTimeouts: { idleMs: 5_000, requestMs: 10_000 },
    httpMaxConnections: 512,
    wsMaxConnections: 1024,
    wsMaxMessageBytes: 65_536,
    shutdownDelayMs: 0,
    logLevel: "info",
    logFormat: "text",
    proxyProtocol: false,
  });
});

Deno.test("parseCommandLine() reads every setting from the environment", () => {
  assert.deepEqual(
    settingsOf([], {
      ECHOSERVER__ECHO_HOST: "127.0.0.1",
      ECHOSERVER__ECHO_PORT: "7",
      ECHOSERVER__HTTP_HOST: "::1",
      ECHOSERVER__HTTP_PORT: "0",
      ECHOSERVER__IDLE_TIMEOUT__SECONDS: "0.25",
      ECHOSERVER__IDLE_TIMEOUT__REFRESH_SECONDS: "60",
      ECHOSERVER__MAX_CONNECTIONS: "12",
      ECHOSERVER__HTTP_IDLE_TIMEOUT__SECONDS: "2.5",
      ECHOSERVER__HTTP_REQUEST_TIMEOUT__SECONDS: "30",
      ECHOSERVER__HTTP_MAX_CONNECTIONS: "64",
      ECHOSERVER__WS_MAX_CONNECTIONS: "16",
      ECHOSERVER__WS_MAX_MESSAGE__BYTES: "1048576",
      ECHOSERVER__DIE_TOKEN: "t0ken",
      ECHOSERVER__SHUTDOWN_DELAY__SECONDS: "7.5",
      ECHOSERVER__LOG_LEVEL: "debug",
      ECHOSERVER__LOG_FORMAT: "json",
      ECHOSERVER__PROXY_PROTOCOL: "true",
    }),
    {
      echo: { hostname: "127.0.0.1", port: 7 },
      http: { hostname: "::1", port: 0 },
      idle: { initialMs: 250, refreshMs: 60_000 },
      maxConnections: 12,
      httpTimeouts: { idleMs: 2_500, requestMs: 30_000 },
      httpMaxConnections: 64,
      wsMaxConnections: 16,
      wsMaxMessageBytes: 1_048_576,
      dieToken: "t0ken",
      shutdownDelayMs: 7_500,
      logLevel: "debug",
      logFormat: "json",
      proxyProtocol: true,
    },
  );
});

Deno.test("parseCommandLine() prefers flags, in either form, over the environment", () => {
  const config = settingsOf(
    [
      "--echo-host=localhost",
      "--echo-port",
      "0",
      "--http-host",
      "0.0.0.0",
      "--http-port=65535",
      "--idle-timeout",
      "1.5",
      "--idle-refresh=.5",
      "--http-idle-timeout",
      "1",
      "--http-request-timeout=0.5",
      "--http-max-connections",
      "3",
      "--ws-max-connections=2",
      "--ws-max-message",
      "16777216",
      "--log-level",
      "warning",
      "--shutdown-delay=0",
      "--log-format",
      "text",
    ],
    {
      ECHOSERVER__ECHO_PORT: "9",
      ECHOSERVER__HTTP_MAX_CONNECTIONS: "7",
      ECHOSERVER__WS_MAX_CONNECTIONS: "5",
      ECHOSERVER__WS_MAX_MESSAGE__BYTES: "5",
      ECHOSERVER__LOG_LEVEL: "error",
      ECHOSERVER__SHUTDOWN_DELAY__SECONDS: "30",
      ECHOSERVER__LOG_FORMAT: "json",
    },
  );
  assert.deepEqual(config, {
    echo: { hostname: "localhost", port: 0 },
    http: { hostname: "0.0.0.0", port: 65535 },
    idle: { initialMs: 1_500, refreshMs: 500 },
    maxConnections: 10_000,
    httpTimeouts: { idleMs: 1_000, requestMs: 500 },
    httpMaxConnections: 3,
    wsMaxConnections: 2,
    wsMaxMessageBytes: 16_777_216,
    shutdownDelayMs: 0,
    logLevel: "warning",
    logFormat: "text",
    proxyProtocol: false,
  });
});

Deno.test("parseCommandLine() asks for help with --help or -h, whatever else is given", () => {
  assert.deepEqual(parseCommandLine(["--help"], {}), { kind: "help" });
  assert.deepEqual(parseCommandLine(["--echo-port", "0", "-h"], {}), {
    kind: "help",
  });
});

Deno.test("parseCommandLine() asks for the version with --version, whatever else is given", () => {
  assert.deepEqual(parseCommandLine(["--version"], {}), { kind: "version" });
  assert.deepEqual(parseCommandLine(["--echo-port", "x", "--version"], {}), {
    kind: "version",
  });
});

Deno.test("parseCommandLine() asks for a health check with --check-health, of the URL given or of the service the settings describe", () => {
  const checked = (args: string[], env: Record<string, string> = {}) => {
    const parsed = parseCommandLine(args, env);
    assert.equal(parsed.kind, "check-health", JSON.stringify(parsed));
    const { settings, url } = parsed as { settings: Settings; url?: URL };
    return { port: settings.http.port, url: url?.href };
  };
  assert.deepEqual(checked(["--check-health"]), { port: 4001, url: undefined });
  assert.deepEqual(
    checked(["--check-health"], { ECHOSERVER__HTTP_PORT: "8080" }),
    { port: 8080, url: undefined },
  );
  assert.deepEqual(
    checked(["--check-health", "https://[::1]:9/healthcheck"]),
    { port: 4001, url: "https://[::1]:9/healthcheck" },
  );
  assert.deepEqual(
    checked(["http://localhost:9/", "--check-health", "--http-port", "1"]),
    { port: 1, url: "http://localhost:9/" },
  );
  assert.deepEqual(
    checked(["--check-health=http://localhost:9/livez"]),
    { port: 4001, url: "http://localhost:9/livez" },
  );
});

Deno.test("parseCommandLine() refuses a --check-health URL that is not http or https, and a second one, saying the check was asked for", () => {
  for (
    const [args, message] of [
      [
        ["--check-health", "localhost:4001"],
        '--check-health: "localhost:4001" is not an http or https URL',
      ],
      [
        ["--check-health", "http://a/", "http://b/"],
        'unexpected argument "http://b/"',
      ],
      [["--check-health", "--http-port", "x"], '--http-port: "x" is not'],
    ] as const
  ) {
    const parsed = parseCommandLine(args, {});
    assert.equal(parsed.kind, "error");
    const { error, checkingHealth } = parsed as {
      error: Error;
      checkingHealth: boolean;
    };
    assert.ok(error.message.startsWith(message), error.message);
    assert.equal(checkingHealth, true);
  }
  const run = parseCommandLine(["http://a/"], {});
  assert.equal(run.kind === "error" && run.checkingHealth, false);
  assert.equal(errorOf(["http://a/"]), 'unexpected argument "http://a/"');
});

Deno.test("parseCommandLine() names the setting and the value of a bad flag", () => {
  const cases: [string[], string][] = [
    [
      ["--echo-port", "http"],
      '--echo-port: "http" is not an integer from 0 to 65535 with no leading zero',
    ],
    [
      ["--http-port", "65536"],
      '--http-port: "65536" is not an integer from 0 to 65535 with no leading zero',
    ],
    [
      ["--echo-port", "-1"],
      '--echo-port: "-1" is not an integer from 0 to 65535 with no leading zero',
    ],
    [
      ["--echo-port", "4.5"],
      '--echo-port: "4.5" is not an integer from 0 to 65535 with no leading zero',
    ],
    [
      ["--echo-port", "04000"],
      '--echo-port: "04000" is not an integer from 0 to 65535 with no leading zero',
    ],
    [
      ["--idle-timeout", "-5"],
      '--idle-timeout: "-5" is not a positive number of seconds, at most 2147483',
    ],
    [
      ["--idle-timeout", "0"],
      '--idle-timeout: "0" is not a positive number of seconds, at most 2147483',
    ],
    [
      ["--idle-refresh", "soon"],
      '--idle-refresh: "soon" is not a positive number of seconds, at most 2147483',
    ],
    [
      ["--idle-refresh", "Infinity"],
      '--idle-refresh: "Infinity" is not a positive number of seconds, at most 2147483',
    ],
    [
      ["--http-idle-timeout", "0"],
      '--http-idle-timeout: "0" is not a positive number of seconds, at most 2147483',
    ],
    [
      ["--http-request-timeout", "2147484"],
      '--http-request-timeout: "2147484" is not a positive number of seconds, at most 2147483',
    ],
    [
      ["--http-max-connections", "0"],
      '--http-max-connections: "0" is not a positive integer',
    ],
    [
      ["--ws-max-connections", "-1"],
      '--ws-max-connections: "-1" is not a positive integer',
    ],
    [
      ["--ws-max-message", "0"],
      '--ws-max-message: "0" is not a positive integer of bytes, at most 16777216',
    ],
    [
      ["--ws-max-message", "16777217"],
      '--ws-max-message: "16777217" is not a positive integer of bytes, at most 16777216',
    ],
    [
      ["--ws-max-message", "64KiB"],
      '--ws-max-message: "64KiB" is not a positive integer of bytes, at most 16777216',
    ],
    [
      ["--log-level", "loud"],
      '--log-level: "loud" is not one of debug, info, warning, error',
    ],
    [["--echo-host", ""], '--echo-host: "" is not a hostname'],
    [
      ["--shutdown-delay", "-1"],
      '--shutdown-delay: "-1" is not a number of seconds from 0 to 2147483',
    ],
    [["--log-format", "xml"], '--log-format: "xml" is not one of text, json'],
    [["--verbose"], "unknown option --verbose"],
    [["-v"], "unknown option -v"],
    [["--echo-port"], "--echo-port needs a value"],
    [["serve"], 'unexpected argument "serve"'],
  ];
  for (const [args, message] of cases) assert.equal(errorOf(args), message);
});

Deno.test("parseCommandLine() refuses zero seconds for every timeout, --idle-refresh as --idle-timeout, and takes it only for --shutdown-delay", () => {
  const timeouts = [
    ["--idle-timeout", "ECHOSERVER__IDLE_TIMEOUT__SECONDS"],
    ["--idle-refresh", "ECHOSERVER__IDLE_TIMEOUT__REFRESH_SECONDS"],
    ["--http-idle-timeout", "ECHOSERVER__HTTP_IDLE_TIMEOUT__SECONDS"],
    ["--http-request-timeout", "ECHOSERVER__HTTP_REQUEST_TIMEOUT__SECONDS"],
  ];
  for (const [flag, env] of timeouts) {
    for (const zero of ["0", "0.0", ".0", "00"]) {
      const expected =
        `"${zero}" is not a positive number of seconds, at most 2147483`;
      assert.equal(errorOf([flag, zero]), `${flag}: ${expected}`);
      assert.equal(errorOf([], { [env]: zero }), `${env}: ${expected}`);
    }
    assert.equal(parseCommandLine([flag, "0.001"], {}).kind, "run", flag);
  }
  for (const zero of ["0", "0.0", ".0"]) {
    assert.equal(parseCommandLine(["--shutdown-delay", zero], {}).kind, "run");
  }
});

Deno.test("parseCommandLine() names the environment variable and the value of a bad setting", () => {
  assert.equal(
    errorOf([], { ECHOSERVER__HTTP_PORT: "80 80" }),
    'ECHOSERVER__HTTP_PORT: "80 80" is not an integer from 0 to 65535 with no leading zero',
  );
  assert.equal(
    errorOf([], { ECHOSERVER__IDLE_TIMEOUT__SECONDS: "0" }),
    'ECHOSERVER__IDLE_TIMEOUT__SECONDS: "0" is not a positive number of seconds, at most 2147483',
  );
  assert.equal(
    errorOf([], { ECHOSERVER__LOG_LEVEL: "INFO" }),
    'ECHOSERVER__LOG_LEVEL: "INFO" is not one of debug, info, warning, error',
  );
  // A valid flag hides a bad environment variable for the same setting.
  assert.equal(
    settingsOf(["--http-port", "1"], { ECHOSERVER__HTTP_PORT: "x" }).http.port,
    1,
  );
});

Deno.test("usage() lists every flag with its environment variable and default", () => {
  const text = usage();
  for (
    const [flag, env, fallback] of [
      ["--echo-host", "ECHOSERVER__ECHO_HOST", "0.0.0.0"],
      ["--echo-port", "ECHOSERVER__ECHO_PORT", "4000"],
      ["--http-host", "ECHOSERVER__HTTP_HOST", "127.0.0.1"],
      ["--http-port", "ECHOSERVER__HTTP_PORT", "4001"],
      ["--idle-timeout", "ECHOSERVER__IDLE_TIMEOUT__SECONDS", "5"],
      ["--idle-refresh", "ECHOSERVER__IDLE_TIMEOUT__REFRESH_SECONDS", "30"],
      ["--max-connections", "ECHOSERVER__MAX_CONNECTIONS", "10000"],
      ["--http-idle-timeout", "ECHOSERVER__HTTP_IDLE_TIMEOUT__SECONDS", "5"],
      [
        "--http-request-timeout",
        "ECHOSERVER__HTTP_REQUEST_TIMEOUT__SECONDS",
        "10",
      ],
      ["--http-max-connections", "ECHOSERVER__HTTP_MAX_CONNECTIONS", "512"],
      ["--ws-max-connections", "ECHOSERVER__WS_MAX_CONNECTIONS", "1024"],
      ["--ws-max-message", "ECHOSERVER__WS_MAX_MESSAGE__BYTES", "65536"],
      ["--die-token", "ECHOSERVER__DIE_TOKEN", "none"],
      ["--die-token-file", "ECHOSERVER__DIE_TOKEN_FILE", "none"],
      ["--tls-cert", "ECHOSERVER__TLS__CERT_FILE", "none"],
      ["--tls-key", "ECHOSERVER__TLS__KEY_FILE", "none"],
      ["--shutdown-delay", "ECHOSERVER__SHUTDOWN_DELAY__SECONDS", "0"],
      ["--log-level", "ECHOSERVER__LOG_LEVEL", "info"],
      ["--log-format", "ECHOSERVER__LOG_FORMAT", "text"],
    ]
  ) {
    assert.match(
      text,
      new RegExp(
        `${flag} [A-Z]+ (?:.*\\n)+? +env ${env}, default ${fallback}\\n`,
      ),
    );
  }
  assert.match(
    text,
    /\n {2}--proxy-protocol +\S.*\n(?:.*\n)*? +env ECHOSERVER__PROXY_PROTOCOL, default false\n/,
  );
  assert.match(text, /-h, --help/);
  assert.match(text, /--version/);
  assert.match(
    text,
    new RegExp(
      `--check-health \\[URL\\] .*\n.*within ${
        HEALTH_CHECK_TIMEOUT_MS / 1000
      } s`,
    ),
  );
});

Deno.test("parseCommandLine() reads the connection limit and the die token", () => {
  const config = settingsOf(["--max-connections", "2"], {
    ECHOSERVER__DIE_TOKEN: "s3cret-Token_~+/=",
  });
  assert.equal(config.maxConnections, 2);
  assert.equal(config.dieToken, "s3cret-Token_~+/=");
  assert.equal(settingsOf([]).dieToken, undefined);
  assert.equal(
    errorOf(["--max-connections", "0"]),
    '--max-connections: "0" is not a positive integer',
  );
});

Deno.test("parseCommandLine() never echoes a die token back, even a bad one", () => {
  const message = errorOf(["--die-token", "has spaces in it"]);
  assert.equal(
    message,
    "--die-token: the value is not a bearer token (letters, digits and -._~+/, then any '=')",
  );
  assert.equal(message.includes("spaces"), false);
});

Deno.test("parseCommandLine() takes an empty environment variable as unset, but not an empty flag", () => {
  const config = settingsOf([], {
    ECHOSERVER__ECHO_PORT: "",
    ECHOSERVER__IDLE_TIMEOUT__SECONDS: "",
    ECHOSERVER__DIE_TOKEN: "",
    ECHOSERVER__LOG_LEVEL: "",
  });
  assert.equal(config.echo.port, 4000);
  assert.equal(config.idle.initialMs, 5_000);
  assert.equal(config.dieToken, undefined);
  assert.equal(config.logLevel, "info");
  assert.equal(
    errorOf(["--die-token", ""]),
    "--die-token: the value is not a bearer token (letters, digits and -._~+/, then any '=')",
  );
});

Deno.test("parseCommandLine() refuses a duration longer than a timer holds", () => {
  // 2^31 - 1 ms is the longest timer; a longer one would fire at once.
  assert.equal(
    settingsOf(["--shutdown-delay", "2147483"]).shutdownDelayMs,
    2_147_483_000,
  );
  assert.equal(
    errorOf(["--shutdown-delay", "2147484"]),
    '--shutdown-delay: "2147484" is not a number of seconds from 0 to 2147483',
  );
  assert.equal(
    errorOf(["--idle-timeout", "3000000"]),
    '--idle-timeout: "3000000" is not a positive number of seconds, at most 2147483',
  );
  assert.equal(
    errorOf([], { ECHOSERVER__IDLE_TIMEOUT__REFRESH_SECONDS: "1e9" }),
    'ECHOSERVER__IDLE_TIMEOUT__REFRESH_SECONDS: "1e9" is not a positive number of seconds, at most 2147483',
  );
});

Deno.test("parseCommandLine() takes --proxy-protocol alone as true, and only true or false as its value", () => {
  assert.equal(settingsOf(["--proxy-protocol"]).proxyProtocol, true);
  assert.equal(settingsOf(["--proxy-protocol=true"]).proxyProtocol, true);
  assert.equal(
    settingsOf(["--proxy-protocol=false"], {
      ECHOSERVER__PROXY_PROTOCOL: "true",
    }).proxyProtocol,
    false,
  );
  assert.equal(
    settingsOf([], { ECHOSERVER__PROXY_PROTOCOL: "false" }).proxyProtocol,
    false,
  );
  assert.equal(
    errorOf(["--proxy-protocol=yes"]),
    '--proxy-protocol: "yes" is not true or false',
  );
  assert.equal(
    errorOf([], { ECHOSERVER__PROXY_PROTOCOL: "1" }),
    'ECHOSERVER__PROXY_PROTOCOL: "1" is not true or false',
  );
  assert.equal(
    errorOf(["--proxy-protocol", "true"]),
    'unexpected argument "true"',
  );
});

Deno.test("parseCommandLine() records the files that settings name, and which setting named each, reading none", () => {
  const config = settingsOf(
    ["--tls-cert", "/etc/echoserver/tls.crt", "--die-token-file=token"],
    { ECHOSERVER__TLS__KEY_FILE: "/etc/echoserver/tls.key" },
  );
  assert.deepEqual(config.tlsFiles, {
    cert: { setting: "--tls-cert", path: "/etc/echoserver/tls.crt" },
    key: {
      setting: "ECHOSERVER__TLS__KEY_FILE",
      path: "/etc/echoserver/tls.key",
    },
  });
  assert.deepEqual(config.dieTokenFile, {
    setting: "--die-token-file",
    path: "token",
  });
  assert.equal("tls" in config, false);
  assert.equal(config.dieToken, undefined);
  assert.equal(settingsOf([]).tlsFiles, undefined);
});

Deno.test("parseCommandLine() refuses a TLS certificate without its key, or a key without its certificate", () => {
  assert.equal(
    errorOf(["--tls-cert", "cert.pem"]),
    '--tls-cert: "cert.pem" needs --tls-key (ECHOSERVER__TLS__KEY_FILE) as well',
  );
  assert.equal(
    errorOf([], { ECHOSERVER__TLS__KEY_FILE: "key.pem" }),
    'ECHOSERVER__TLS__KEY_FILE: "key.pem" needs --tls-cert ' +
      "(ECHOSERVER__TLS__CERT_FILE) as well",
  );
  assert.equal(
    errorOf(["--tls-cert", "", "--tls-key", "key.pem"]),
    '--tls-cert: "" is not a file path',
  );
});

Deno.test("parseCommandLine() refuses a die token and a die token file together, from any source", () => {
  assert.equal(
    errorOf(["--die-token-file", "/run/token", "--die-token", "t0ken"]),
    '--die-token-file: "/run/token" and --die-token are both given; give one',
  );
  assert.equal(
    errorOf(["--die-token-file", "/run/token"], {
      ECHOSERVER__DIE_TOKEN: "t0ken",
    }),
    '--die-token-file: "/run/token" and ECHOSERVER__DIE_TOKEN are both given; give one',
  );
});

Deno.test("parseCommandLine() refuses --proxy-protocol with TLS: the header would come before the handshake", () => {
  assert.equal(
    errorOf(["--proxy-protocol", "--tls-cert", "c.pem", "--tls-key", "k.pem"]),
    "--proxy-protocol cannot go with --tls-cert: the PROXY header comes before the TLS handshake, which Deno.listenTls begins by itself",
  );
});

Deno.test("parseCommandLine() refuses DENO_SERVE_ADDRESS, which would move the HTTP server inside, and takes it empty as unset", () => {
  for (const address of ["tcp:0.0.0.0:8080", "duplicate,tcp:127.0.0.1:0"]) {
    assert.equal(
      errorOf([], { DENO_SERVE_ADDRESS: address }),
      `DENO_SERVE_ADDRESS: ${
        JSON.stringify(address)
      } would serve HTTP from inside the service, past the public port's limits and the die token's address check; unset it`,
    );
  }
  assert.equal(
    parseCommandLine([], { DENO_SERVE_ADDRESS: "" }).kind,
    "run",
  );
});
