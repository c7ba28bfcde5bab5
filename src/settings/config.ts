import { commandLineTokens } from "./command_line.ts";
import {
  LOG_FORMATS,
  LOG_LEVELS,
  type LogFormat,
  type LogLevel,
} from "../observability/log.ts";
import { MAX_TIMER_DELAY_MS } from "../waiting/pause.ts";
import type { IdleTimeouts } from "../echo/echo.ts";
import type { HttpTimeouts } from "../http/connection_deadline.ts";
import { type ListenAddress, parsePort } from "../net/net_addr.ts";
import { BANNER_VARIABLES, renderBanner } from "./banner.ts";
import { errorMessage } from "../net/error_message.ts";

/**
 * A file a setting names. Parsing only records it; `main.ts` reads it at
 * startup (see `src/settings/setting_files.ts`), so that this module stays pure.
 */
export interface SettingFile {
  /** The flag or environment variable that named it, for error messages. */
  setting: string;
  /** The file's path, as given. */
  path: string;
}

/** Everything the service needs to run, the files its settings name read. */
export interface Config {
  /** Where the echo server listens. */
  echo: ListenAddress;
  /** Where the HTTP server listens. */
  http: ListenAddress;
  /** How long a silent echo client may stay. */
  idle: IdleTimeouts;
  /**
   * Echo connections served at once; a client over the limit takes the place
   * of a silent relayed TLS client, if there is one, or is closed at once.
   */
  maxConnections: number;
  /** How long an HTTP connection may wait, and a request take. */
  httpTimeouts: HttpTimeouts;
  /**
   * HTTP connections open at once; a client over the limit takes the place of
   * the one longest with no request in flight, or is closed at once.
   */
  httpMaxConnections: number;
  /** WebSockets open at once on `GET /ws`; a handshake over it gets 503. */
  wsMaxConnections: number;
  /** The longest WebSocket message payload; a longer one closes with 1009. */
  wsMaxMessageBytes: number;
  /** When set, `POST /die` needs `Authorization: Bearer <dieToken>`. */
  dieToken?: string;
  /**
   * When set, HTTP is served over HTTPS with this pair, and echo over TLS:
   * on the echo port, or on `tlsEcho` when that is set.
   */
  tls?: Deno.TlsCertifiedKeyPem;
  /**
   * With `tls`: TLS echo is served here, and the echo port stays plain.
   * Both ports share `maxConnections`, the idle timeouts and the metrics.
   */
  tlsEcho?: ListenAddress;
  /** When set, each datagram that comes here is echoed back to its sender. */
  udp?: ListenAddress;
  /** A line sent to each new echo client before any echo, rendered already. */
  banner?: string;
  /** When set, every HTTP response says `X-Served-By: <servedBy>`. */
  servedBy?: string;
  /**
   * After SIGTERM, milliseconds to keep serving with `/readyz` at 503 before
   * stopping, so that load balancers stop sending clients first.
   */
  shutdownDelayMs: number;
  /** The least severe log line written. */
  logLevel: LogLevel;
  /** How log lines are written: text or JSON. */
  logFormat: LogFormat;
  /**
   * Each echo connection begins with a PROXY protocol header (v1 or v2) from
   * a load balancer, naming the client; connections without one are closed.
   */
  proxyProtocol: boolean;
}

/**
 * What the flags and environment variables say: a {@linkcode Config} but for
 * the files they name, which `readSettingFiles` (`setting_files.ts`) reads
 * into `dieToken` and `tls` at startup.
 */
export interface Settings extends Omit<Config, "tls"> {
  /** A file holding the die token. */
  dieTokenFile?: SettingFile;
  /** The certificate and key files. */
  tlsFiles?: { cert: SettingFile; key: SettingFile };
}

/** A flag, environment variable or argument that the service cannot accept. */
export class ConfigError extends Error {
  /** Its name in messages. */
  override name = "ConfigError";
}

/**
 * What the command line asks for: a run with valid settings, a health check
 * of the service those settings describe, the usage text, the version, or an
 * error.
 */
export type CommandLine =
  | { kind: "run"; settings: Settings }
  | {
    kind: "check-health";
    settings: Settings;
    /** The URL given after `--check-health`; none means the settings' own. */
    url?: URL;
  }
  | { kind: "help" }
  | { kind: "version" }
  | {
    kind: "error";
    error: ConfigError;
    /** The log format, when it was read before the error: for the error's own line. */
    logFormat?: LogFormat;
    /** `--check-health` was asked for: a health checker reads the exit code. */
    checkingHealth: boolean;
  };

/** One setting: its flag, its environment variable, its default and how to read it. */
interface Setting<T> {
  flag: string;
  env: string;
  /** The value when neither the flag nor the variable is given; none when unset. */
  default?: string;
  /** How `--help` shows a default that follows another setting. */
  shownDefault?: string;
  /** Keeps the value out of error messages. */
  secret?: boolean;
  /** The flag's value in the usage text, such as `PORT`; none for a switch. */
  placeholder?: string;
  /**
   * A flag that needs no value: alone it means `true` (`--flag=false` works
   * too); the environment variable is `true` or `false`.
   */
  switch?: boolean;
  description: string;
  /** What a valid value is, completing "... is not". */
  expected: string;
  /** The value, or undefined when `raw` is not valid. */
  parse(raw: string): T | undefined;
}

/** Any value but an empty one: a hostname, a file path. */
const nonEmpty = (raw: string) => raw === "" ? undefined : raw;

/** A number written plainly: digits with at most one point, no sign or exponent. */
const DECIMAL = /^(\d+\.?\d*|\.\d+)$/;

/** The longest duration setting, in whole seconds: what a timer holds. */
const MAX_SECONDS = Math.floor(MAX_TIMER_DELAY_MS / 1000);

/** Seconds, 0 or more and no more than a timer holds, as milliseconds. */
const zeroOrMoreSeconds = (raw: string) =>
  DECIMAL.test(raw) && Number(raw) <= MAX_SECONDS
    ? Number(raw) * 1000
    : undefined;

/** Seconds, greater than 0 and no more than a timer holds, as milliseconds. */
const positiveSeconds = (raw: string) => zeroOrMoreSeconds(raw) || undefined;

const positiveInteger = (raw: string) =>
  /^[1-9]\d{0,8}$/.test(raw) ? Number(raw) : undefined;

/** What a valid die token is, completing "... is not". */
export const BEARER_TOKEN_EXPECTED =
  "a bearer token (letters, digits and -._~+/, then any '=')";

/**
 * The token when `raw` has the characters of an RFC 6750 bearer token, as
 * `Authorization` carries it; otherwise undefined.
 *
 * @example
 * ```ts
 * import { bearerToken } from "./config.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(bearerToken("s3cret-T0ken=="), "s3cret-T0ken==");
 * assert.equal(bearerToken("two words"), undefined);
 * ```
 */
export function bearerToken(raw: string): string | undefined {
  return /^[A-Za-z0-9._~+/-]+=*$/.test(raw) ? raw : undefined;
}

const logLevel = (raw: string) => LOG_LEVELS.find((level) => level === raw);

const logFormat = (raw: string) => LOG_FORMATS.find((format) => format === raw);

const boolean = (raw: string) =>
  raw === "true" ? true : raw === "false" ? false : undefined;

/** How one kind of value is shown in `--help`, read, and named when bad. */
type ValueKind<T> = Pick<Setting<T>, "placeholder" | "expected" | "parse">;

const HOSTNAME: ValueKind<string> = {
  placeholder: "HOST",
  expected: "a hostname",
  parse: nonEmpty,
};
const PORT: ValueKind<number> = {
  placeholder: "PORT",
  expected: "an integer from 0 to 65535 with no leading zero",
  parse: parsePort,
};
const POSITIVE_SECONDS: ValueKind<number> = {
  placeholder: "SECONDS",
  expected: `a positive number of seconds, at most ${MAX_SECONDS}`,
  parse: positiveSeconds,
};
const ZERO_OR_MORE_SECONDS: ValueKind<number> = {
  placeholder: "SECONDS",
  expected: `a number of seconds from 0 to ${MAX_SECONDS}`,
  parse: zeroOrMoreSeconds,
};
const COUNT: ValueKind<number> = {
  placeholder: "N",
  expected: "a positive integer",
  parse: positiveInteger,
};
const FILE_PATH: ValueKind<string> = {
  placeholder: "FILE",
  expected: "a file path",
  parse: nonEmpty,
};
const TEXT: ValueKind<string> = {
  placeholder: "TEXT",
  expected: "a text",
  parse: nonEmpty,
};
/** A flag that needs no value (see `Setting.switch`). */
const SWITCH: Pick<Setting<boolean>, "switch" | "expected" | "parse"> = {
  switch: true,
  expected: "true or false",
  parse: boolean,
};

const ECHO_HOST: Setting<string> = {
  flag: "echo-host",
  env: "ECHOSERVER__ECHO_HOST",
  default: "0.0.0.0",
  description: "address the echo server listens on",
  ...HOSTNAME,
};
const ECHO_PORT: Setting<number> = {
  flag: "echo-port",
  env: "ECHOSERVER__ECHO_PORT",
  default: "4000",
  description: "echo port; 0 picks a free one",
  ...PORT,
};
const HTTP_HOST: Setting<string> = {
  flag: "http-host",
  env: "ECHOSERVER__HTTP_HOST",
  default: "127.0.0.1",
  description: "address of the HTTP server: probes, /metrics and /die",
  ...HOSTNAME,
};
const HTTP_PORT: Setting<number> = {
  flag: "http-port",
  env: "ECHOSERVER__HTTP_PORT",
  default: "4001",
  description: "HTTP port; 0 picks a free one",
  ...PORT,
};
const IDLE_TIMEOUT: Setting<number> = {
  flag: "idle-timeout",
  env: "ECHOSERVER__IDLE_TIMEOUT__SECONDS",
  default: "5",
  description: "a new echo client that sends nothing this long is dropped",
  ...POSITIVE_SECONDS,
};
const IDLE_REFRESH: Setting<number> = {
  flag: "idle-refresh",
  env: "ECHOSERVER__IDLE_TIMEOUT__REFRESH_SECONDS",
  default: "30",
  description: "each chunk received gives the client this long again",
  ...POSITIVE_SECONDS,
};
const MAX_CONNECTIONS: Setting<number> = {
  flag: "max-connections",
  env: "ECHOSERVER__MAX_CONNECTIONS",
  default: "10000",
  description: "echo clients served at once; more are closed at once,\n" +
    "or over TLS take the place of the longest-silent one",
  ...COUNT,
};
const HTTP_IDLE_TIMEOUT: Setting<number> = {
  flag: "http-idle-timeout",
  env: "ECHOSERVER__HTTP_IDLE_TIMEOUT__SECONDS",
  default: "5",
  description: "an HTTP connection with no request in flight this long\n" +
    "is closed",
  ...POSITIVE_SECONDS,
};
const HTTP_REQUEST_TIMEOUT: Setting<number> = {
  flag: "http-request-timeout",
  env: "ECHOSERVER__HTTP_REQUEST_TIMEOUT__SECONDS",
  default: "10",
  description: "an HTTP request must be read and answered within this\n" +
    "long of its first byte, or its connection is closed",
  ...POSITIVE_SECONDS,
};
const HTTP_MAX_CONNECTIONS: Setting<number> = {
  flag: "http-max-connections",
  env: "ECHOSERVER__HTTP_MAX_CONNECTIONS",
  default: "512",
  description: "HTTP connections open at once; a new one takes the place\n" +
    "of the one idle longest, or is closed at once if all are busy",
  ...COUNT,
};
/** The largest `--ws-max-message`: 16 MiB. */
const MAX_WS_MESSAGE_BYTES = 16 * 1024 * 1024;

const WS_MAX_CONNECTIONS: Setting<number> = {
  flag: "ws-max-connections",
  env: "ECHOSERVER__WS_MAX_CONNECTIONS",
  default: "1024",
  description: "WebSocket echo clients on GET /ws at once; a handshake\n" +
    "over it gets 503",
  ...COUNT,
};
const WS_MAX_MESSAGE: Setting<number> = {
  flag: "ws-max-message",
  env: "ECHOSERVER__WS_MAX_MESSAGE__BYTES",
  default: "65536",
  placeholder: "BYTES",
  description: "longest WebSocket message; a longer one closes the\n" +
    "WebSocket with 1009",
  expected: `a positive integer of bytes, at most ${MAX_WS_MESSAGE_BYTES}`,
  parse: (raw) => {
    const bytes = positiveInteger(raw);
    return bytes !== undefined && bytes <= MAX_WS_MESSAGE_BYTES
      ? bytes
      : undefined;
  },
};
const DIE_TOKEN: Setting<string> = {
  flag: "die-token",
  env: "ECHOSERVER__DIE_TOKEN",
  placeholder: "TOKEN",
  description: "POST /die then needs 'Authorization: Bearer TOKEN';\n" +
    "without one, an --http-host off loopback is refused",
  expected: BEARER_TOKEN_EXPECTED,
  secret: true,
  parse: bearerToken,
};
const DIE_TOKEN_FILE: Setting<string> = {
  flag: "die-token-file",
  env: "ECHOSERVER__DIE_TOKEN_FILE",
  description: "read the die token from FILE, such as a mounted secret;\n" +
    "trailing line breaks are dropped; not with --die-token",
  ...FILE_PATH,
};
const TLS_CERT: Setting<string> = {
  flag: "tls-cert",
  env: "ECHOSERVER__TLS__CERT_FILE",
  description: "PEM certificate chain: serve echo over TLS and HTTP over\n" +
    "HTTPS; needs --tls-key",
  ...FILE_PATH,
};
const TLS_KEY: Setting<string> = {
  flag: "tls-key",
  env: "ECHOSERVER__TLS__KEY_FILE",
  description: "PEM private key of --tls-cert",
  ...FILE_PATH,
};
const SHUTDOWN_DELAY: Setting<number> = {
  flag: "shutdown-delay",
  env: "ECHOSERVER__SHUTDOWN_DELAY__SECONDS",
  default: "0",
  description: "after SIGTERM, keep serving this long with /readyz at 503",
  ...ZERO_OR_MORE_SECONDS,
};
const LOG_LEVEL: Setting<LogLevel> = {
  flag: "log-level",
  env: "ECHOSERVER__LOG_LEVEL",
  default: "info",
  placeholder: "LEVEL",
  description: `least severe log level written: ${LOG_LEVELS.join(", ")}`,
  expected: `one of ${LOG_LEVELS.join(", ")}`,
  parse: logLevel,
};
const LOG_FORMAT: Setting<LogFormat> = {
  flag: "log-format",
  env: "ECHOSERVER__LOG_FORMAT",
  default: "text",
  placeholder: "FORMAT",
  description: "text, or json: one object per line",
  expected: `one of ${LOG_FORMATS.join(", ")}`,
  parse: logFormat,
};

const PROXY_PROTOCOL: Setting<boolean> = {
  flag: "proxy-protocol",
  env: "ECHOSERVER__PROXY_PROTOCOL",
  default: "false",
  description: "each echo connection must begin with a PROXY protocol\n" +
    "header (v1 or v2) naming the client, as load balancers send",
  ...SWITCH,
};

const TLS_ECHO_PORT: Setting<number> = {
  flag: "tls-echo-port",
  env: "ECHOSERVER__TLS_ECHO_PORT",
  description: "serve TLS echo on this port too, while the echo port stays\n" +
    "plain; needs --tls-cert; 0 picks a free one",
  ...PORT,
};
const UDP: Setting<boolean> = {
  flag: "udp",
  env: "ECHOSERVER__UDP",
  default: "false",
  description: "also echo each UDP datagram back to its sender; it answers\n" +
    "any source address a packet claims: private networks only",
  ...SWITCH,
};
const UDP_PORT: Setting<number> = {
  flag: "udp-port",
  env: "ECHOSERVER__UDP_PORT",
  shownDefault: "the echo port",
  description: "UDP echo port, on the echo host; needs --udp; 0 picks a\n" +
    "free one",
  ...PORT,
};
const BANNER: Setting<string> = {
  flag: "banner",
  env: "ECHOSERVER__BANNER",
  description: "send this line to each new echo client before any echo;\n" +
    "{hostname}, {pod}, {namespace} and {node} are filled in from\n" +
    "HOSTNAME, POD_NAME, POD_NAMESPACE and NODE_NAME",
  ...TEXT,
};
const SERVED_BY: Setting<string> = {
  flag: "served-by",
  env: "ECHOSERVER__SERVED_BY",
  description: "add 'X-Served-By: TEXT' to every HTTP response; the same\n" +
    "placeholders as --banner",
  ...TEXT,
};

const SETTINGS: Setting<unknown>[] = [
  ECHO_HOST,
  ECHO_PORT,
  HTTP_HOST,
  HTTP_PORT,
  IDLE_TIMEOUT,
  IDLE_REFRESH,
  MAX_CONNECTIONS,
  HTTP_IDLE_TIMEOUT,
  HTTP_REQUEST_TIMEOUT,
  HTTP_MAX_CONNECTIONS,
  WS_MAX_CONNECTIONS,
  WS_MAX_MESSAGE,
  DIE_TOKEN,
  DIE_TOKEN_FILE,
  TLS_CERT,
  TLS_KEY,
  SHUTDOWN_DELAY,
  LOG_LEVEL,
  LOG_FORMAT,
  PROXY_PROTOCOL,
  TLS_ECHO_PORT,
  UDP,
  UDP_PORT,
  BANNER,
  SERVED_BY,
];

/**
 * The environment variables the service reads, one for each setting: all
 * that `--allow-env` needs to grant.
 *
 * @example
 * ```ts
 * import { SETTING_VARIABLES } from "./config.ts";
 * import assert from "node:assert/strict";
 *
 * assert.ok(SETTING_VARIABLES.includes("ECHOSERVER__ECHO_PORT"));
 * assert.ok(SETTING_VARIABLES.every((name) => name.startsWith("ECHOSERVER__")));
 * ```
 */
export const SETTING_VARIABLES: readonly string[] = SETTINGS.map(({ env }) =>
  env
);

/**
/**
 * Deno's own variable that moves the first `Deno.serve` elsewhere, or serves
 * it there as well, with no permission asked: here, the HTTP server inside,
 * which only the relay on the public port may reach. Set, it is refused.
 */
const DENO_SERVE_ADDRESS = "DENO_SERVE_ADDRESS";

/**
 * Every environment variable the service reads, the settings',
 * `DENO_SERVE_ADDRESS`, and those that `--banner` and `--served-by` may fill
 * in: all that `--allow-env` needs to grant.
 *
 * @example
 * ```ts
 * import { SETTING_VARIABLES, VARIABLES_READ } from "./config.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(VARIABLES_READ, [
 *   ...SETTING_VARIABLES,
 *   "DENO_SERVE_ADDRESS",
 *   ...["HOSTNAME", "POD_NAME", "POD_NAMESPACE", "NODE_NAME"],
 * ]);
 * ```
 */
export const VARIABLES_READ: readonly string[] = [
  ...SETTING_VARIABLES,
  DENO_SERVE_ADDRESS,
  ...BANNER_VARIABLES,
];

/**
 * Reads the service's settings from command-line flags, then environment
 * variables, then defaults. It never exits the process: bad input comes back
 * as a {@linkcode ConfigError} whose one-line message names the setting and the value.
 *
 * @example
 * ```ts
 * import { parseCommandLine } from "./config.ts";
 * import assert from "node:assert/strict";
 *
 * const parsed = parseCommandLine(["--echo-port", "0"], { ECHOSERVER__LOG_LEVEL: "debug" });
 * assert.equal(parsed.kind, "run");
 * if (parsed.kind === "run") {
 *   assert.equal(parsed.settings.echo.port, 0);
 *   assert.equal(parsed.settings.logLevel, "debug");
 *   assert.equal(parsed.settings.idle.initialMs, 5000);
 * }
 *
 * const bad = parseCommandLine(["--echo-port", "http"], {});
 * assert.equal(bad.kind === "error" && bad.error.message, '--echo-port: "http" is not an integer from 0 to 65535 with no leading zero');
 * ```
 */
export function parseCommandLine(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): CommandLine {
  const flags = new Map<string, string>();
  const errors: string[] = [];
  const positionals: string[] = [];
  let checkingHealth = false;
  const tokens = commandLineTokens(
    args,
    (name) =>
      SETTINGS.some((setting) => setting.flag === name && !setting.switch),
  );
  for (const token of tokens) {
    if (token.kind === "positional") {
      positionals.push(token.value);
    } else {
      if (token.name === "help" || token.name === "h") return { kind: "help" };
      if (token.name === "version") return { kind: "version" };
      if (token.name === CHECK_HEALTH) {
        checkingHealth = true;
        if (token.value !== undefined) positionals.push(token.value);
        continue;
      }
      const setting = SETTINGS.find(({ flag }) => flag === token.name);
      if (setting === undefined) {
        errors.push(`unknown option ${token.rawName}`);
      } else if (token.value === undefined && setting.switch) {
        flags.set(token.name, "true");
      } else if (token.value === undefined) {
        errors.push(`${token.rawName} needs a value`);
      } else {
        flags.set(token.name, token.value);
      }
    }
  }

  // Where a setting comes from, and its raw value: undefined when neither
  // given nor defaulted.
  const given = (setting: Setting<unknown>): [string, string | undefined] => {
    const fromFlag = flags.get(setting.flag);
    return fromFlag !== undefined
      ? [`--${setting.flag}`, fromFlag]
      // An empty variable is an unset one: orchestrators pass those.
      : [setting.env, env[setting.env] || setting.default];
  };
  // The value, or undefined for an invalid value (then only the error is
  // returned) or for a setting with no value and no default.
  const read = <T>(setting: Setting<T>): T => {
    const [source, raw] = given(setting);
    if (raw === undefined) return undefined as T;
    const value = setting.parse(raw);
    if (value === undefined) {
      const shown = setting.secret ? "the value" : JSON.stringify(raw);
      errors.push(`${source}: ${shown} is not ${setting.expected}`);
    }
    return value as T;
  };
  const settings: Settings = {
    echo: { hostname: read(ECHO_HOST), port: read(ECHO_PORT) },
    http: { hostname: read(HTTP_HOST), port: read(HTTP_PORT) },
    idle: { initialMs: read(IDLE_TIMEOUT), refreshMs: read(IDLE_REFRESH) },
    maxConnections: read(MAX_CONNECTIONS),
    httpTimeouts: {
      idleMs: read(HTTP_IDLE_TIMEOUT),
      requestMs: read(HTTP_REQUEST_TIMEOUT),
    },
    httpMaxConnections: read(HTTP_MAX_CONNECTIONS),
    wsMaxConnections: read(WS_MAX_CONNECTIONS),
    wsMaxMessageBytes: read(WS_MAX_MESSAGE),
    shutdownDelayMs: read(SHUTDOWN_DELAY),
    logLevel: read(LOG_LEVEL),
    logFormat: read(LOG_FORMAT),
    proxyProtocol: read(PROXY_PROTOCOL),
  };
  const dieToken = read(DIE_TOKEN);
  if (dieToken !== undefined) settings.dieToken = dieToken;
  const file = (setting: Setting<string>): SettingFile | undefined => {
    const path = read(setting);
    return path === undefined
      ? undefined
      : { setting: given(setting)[0], path };
  };
  const dieTokenFile = file(DIE_TOKEN_FILE);
  if (dieTokenFile !== undefined) {
    settings.dieTokenFile = dieTokenFile;
    // Two secrets for one setting: refuse rather than guess which is meant.
    if (dieToken !== undefined) {
      errors.push(
        `${dieTokenFile.setting}: ${JSON.stringify(dieTokenFile.path)} and ${
          given(DIE_TOKEN)[0]
        } are both given; give one`,
      );
    }
  }
  const [cert, key] = [file(TLS_CERT), file(TLS_KEY)];
  if (cert !== undefined && key !== undefined) {
    settings.tlsFiles = { cert, key };
  } else if (cert !== undefined || key !== undefined) {
    const [one, other] = cert !== undefined
      ? [cert, TLS_KEY]
      : [key!, TLS_CERT];
    errors.push(
      `${one.setting}: ${JSON.stringify(one.path)} needs --${other.flag} ` +
        `(${other.env}) as well`,
    );
  }
  const tlsEchoPort = read(TLS_ECHO_PORT);
  const [tlsEchoSource] = given(TLS_ECHO_PORT);
  if (tlsEchoPort !== undefined && settings.tlsFiles === undefined) {
    errors.push(
      `${tlsEchoSource}: "${tlsEchoPort}" needs --${TLS_CERT.flag} and ` +
        `--${TLS_KEY.flag} (${TLS_CERT.env}, ${TLS_KEY.env}) as well`,
    );
  } else if (tlsEchoPort && tlsEchoPort === settings.echo.port) {
    errors.push(
      `${tlsEchoSource}: "${tlsEchoPort}" is the echo port already; ` +
        "give another",
    );
  } else if (tlsEchoPort !== undefined) {
    settings.tlsEcho = { hostname: settings.echo.hostname, port: tlsEchoPort };
  }
  const udpPort = read(UDP_PORT);
  if (read(UDP)) {
    settings.udp = {
      hostname: settings.echo.hostname,
      port: udpPort ?? settings.echo.port,
    };
  } else if (udpPort !== undefined) {
    errors.push(
      `${given(UDP_PORT)[0]}: "${udpPort}" needs --${UDP.flag} (${UDP.env}) ` +
        "as well",
    );
  }
  // Rendered here, once: a bad template is a bad setting.
  const render = (setting: Setting<string>): string | undefined => {
    const template = read(setting);
    if (template === undefined) return undefined;
    try {
      return renderBanner(template, env);
    } catch (error) {
      const [source] = given(setting);
      const why = errorMessage(error);
      errors.push(`${source}: ${JSON.stringify(template)} ${why}`);
    }
  };
  const banner = render(BANNER);
  if (banner !== undefined) settings.banner = banner;
  const servedBy = render(SERVED_BY);
  if (servedBy !== undefined && !HEADER_VALUE.test(servedBy)) {
    errors.push(
      `${given(SERVED_BY)[0]}: ${JSON.stringify(servedBy)} cannot go in a ` +
        "header: printable ASCII only",
    );
  } else if (servedBy !== undefined) {
    settings.servedBy = servedBy;
  }
  if (settings.proxyProtocol && settings.tlsFiles !== undefined) {
    errors.push(
      `${
        given(PROXY_PROTOCOL)[0]
      } cannot go with ${settings.tlsFiles.cert.setting}: ` +
        "the PROXY header comes before the TLS handshake, which " +
        "Deno.listenTls begins by itself",
    );
  }
  const serveAddress = env[DENO_SERVE_ADDRESS];
  if (serveAddress) {
    errors.push(
      `${DENO_SERVE_ADDRESS}: ${
        JSON.stringify(serveAddress)
      } would serve HTTP from inside the service, past the public port's ` +
        "limits and the die token's address check; unset it",
    );
  }
  // Only --check-health takes an argument: the URL to check.
  const [url, ...unexpected] = checkingHealth ? positionals : [];
  const healthUrl = url === undefined ? undefined : parseHttpUrl(url);
  if (url !== undefined && healthUrl === undefined) {
    errors.push(`--${CHECK_HEALTH}: ${JSON.stringify(url)} is not ${HTTP_URL}`);
  }
  for (const value of checkingHealth ? unexpected : positionals) {
    errors.push(`unexpected argument "${value}"`);
  }
  // An invalid log format reads as undefined: its error is then plain text.
  const { logFormat } = settings;
  if (errors.length > 0) {
    const error = new ConfigError(errors[0]);
    return { kind: "error", error, logFormat, checkingHealth };
  }
  return checkingHealth
    ? { kind: "check-health", settings, url: healthUrl }
    : { kind: "run", settings };
}

/** What an HTTP header value may hold, here: printable ASCII. */
const HEADER_VALUE = /^[\x20-\x7e]*$/;

/** The flag that asks for a health check instead of a run. */
const CHECK_HEALTH = "check-health";

const HTTP_URL = "an http or https URL";

/** `raw` as a URL when it is an http or https one; otherwise undefined. */
function parseHttpUrl(raw: string): URL | undefined {
  const url = URL.parse(raw);
  return url?.protocol === "http:" || url?.protocol === "https:"
    ? url
    : undefined;
}

/** The `--help` text: every flag with its environment variable and default. */
export function usage(): string {
  const rows: [string, string][] = [
    ...SETTINGS.map((setting): [string, string] => [
      `--${setting.flag}${
        setting.placeholder === undefined ? "" : ` ${setting.placeholder}`
      }`,
      `${setting.description}\nenv ${setting.env}, default ${
        setting.shownDefault ?? setting.default ?? "none"
      }`,
    ]),
    [
      `--${CHECK_HEALTH} [URL]`,
      "check the service these settings describe, or URL, and exit:\n" +
      "0 when GET /healthcheck answers 'ok computer' within 2 s,\n" +
      "1 otherwise; HTTPS trusts --tls-cert",
    ],
    ["-h, --help", "print this help and exit"],
    ["--version", "print the version and exit"],
  ];
  const width = Math.max(...rows.map(([head]) => head.length)) + 4;
  const options = rows.map(([head, text]) =>
    `  ${head}`.padEnd(width) +
    text.replaceAll("\n", `\n${" ".repeat(width)}`)
  );
  return [
    "Usage: echoserver [options]",
    "",
    "A TCP echo server with an HTTP side: GET /healthcheck, /livez, /readyz",
    "and /metrics, WebSocket echo on GET /ws, and POST /die to shut down.",
    "Flags override environment variables, which override the defaults; an",
    "empty variable counts as unset. Times are in seconds and may be",
    "fractional.",
    "",
    "Options:",
    ...options,
  ].join("\n");
}
