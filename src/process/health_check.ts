/**
 * `echoserver --check-health`: the service checking itself, for a container's
 * HEALTHCHECK where there is no curl. It sends `GET /healthcheck` as HTTP/1.1
 * over TCP or TLS, reads the answer to its end, and passes only a 200 whose
 * body is `ok computer`; everything, from connecting to the last byte, within
 * a bound.
 *
 * Over TLS it trusts the certificates it is given (the service's own) besides
 * the usual roots, and checks the chain, not the name: by default it connects
 * to loopback, which a certificate rarely names. It asks for no HTTP/2, and
 * speaks HTTP/1.1 itself because `fetch` would check the name.
 *
 * @module
 */
import type { Settings } from "../settings/config.ts";
import { formatHostPort } from "../net/net_addr.ts";

/** How long a health check may take, from connecting to the last byte. */
export const HEALTH_CHECK_TIMEOUT_MS = 2_000;

/** What `/healthcheck` answers when the service is well. */
const HEALTHY_BODY = "ok computer";

/** The most of an answer read: the service's own is under 200 bytes. */
const MAX_ANSWER_BYTES = 16 * 1024;

/** What {@linkcode checkHealth} needs besides the URL. */
export interface HealthCheckOptions {
  /** PEM certificates trusted for `https:`, such as the service's own. */
  caCerts?: string[];
  /**
   * Milliseconds the check may take in all.
   * @default {HEALTH_CHECK_TIMEOUT_MS}
   */
  timeoutMs?: number;
}

/**
 * The URL of the service's `/healthcheck` as `settings` describe it: its HTTP
 * port, on its HTTP host, or on loopback when that host is every address
 * (`0.0.0.0`, `::`); `https:` when it serves TLS.
 *
 * @example
 * ```ts
 * import { healthCheckUrl } from "./health_check.ts";
 * import { parseCommandLine } from "../settings/config.ts";
 * import assert from "node:assert/strict";
 *
 * const parsed = parseCommandLine(["--http-host", "::", "--http-port", "8080"], {});
 * if (parsed.kind !== "run") throw parsed;
 * assert.equal(healthCheckUrl(parsed.settings).href, "http://[::1]:8080/healthcheck");
 * ```
 */
export function healthCheckUrl(settings: Settings): URL {
  const { hostname, port } = settings.http;
  const host = hostname === "0.0.0.0"
    ? "127.0.0.1"
    : hostname === "::"
    ? "::1"
    : hostname;
  const scheme = settings.tlsFiles === undefined ? "http" : "https";
  return new URL(
    `${scheme}://${formatHostPort({ hostname: host, port })}/healthcheck`,
  );
}

/**
 * Resolves when `url` answers `GET` with 200 and `ok computer` within the
 * time limit; otherwise rejects with an error whose one-line message says
 * what went wrong, such as a refused connection or no answer in time.
 *
 * @example
 * ```ts
 * import { checkHealth } from "./health_check.ts";
 * import assert from "node:assert/strict";
 *
 * const server = Deno.serve(
 *   { hostname: "127.0.0.1", port: 0, onListen() {} },
 *   () => new Response("ok computer"),
 * );
 * await checkHealth(new URL(`http://127.0.0.1:${server.addr.port}/healthcheck`));
 * await server.shutdown();
 * await assert.rejects(
 *   checkHealth(new URL(`http://127.0.0.1:${server.addr.port}/healthcheck`)),
 *   /refused/i,
 * );
 * ```
 */
export async function checkHealth(
  url: URL,
  options: HealthCheckOptions = {},
): Promise<void> {
  const { caCerts, timeoutMs = HEALTH_CHECK_TIMEOUT_MS } = options;
  const timeout = AbortSignal.timeout(timeoutMs);
  const expired = Promise.withResolvers<never>();
  const expire = () =>
    expired.reject(new Error(`no answer within ${timeoutMs} ms`));
  timeout.addEventListener("abort", expire);
  let conn: Deno.Conn | undefined;
  const exchange = async () => {
    conn = await connect(url, caCerts, timeout);
    await write(conn, request(url));
    return await readAnswer(conn);
  };
  try {
    judge(await Promise.race([exchange(), expired.promise]));
  } finally {
    timeout.removeEventListener("abort", expire);
    // Ends a read or a handshake still waiting after the deadline.
    conn?.close();
  }
}

function connect(
  url: URL,
  caCerts: string[] | undefined,
  signal: AbortSignal,
): Promise<Deno.Conn> {
  // `[::1]` is how a URL writes the IPv6 address ::1.
  const hostname = url.hostname.replace(/^\[(.*)\]$/, "$1");
  if (url.protocol === "http:") {
    return Deno.connect({ hostname, port: Number(url.port || 80), signal });
  }
  return Deno.connectTls({
    hostname,
    port: Number(url.port || 443),
    caCerts,
    unsafelyDisableHostnameVerification: true,
  });
}

function request(url: URL): string {
  return `GET ${url.pathname}${url.search} HTTP/1.1\r\n` +
    `Host: ${url.host}\r\nConnection: close\r\n\r\n`;
}

async function write(conn: Deno.Conn, text: string): Promise<void> {
  const bytes = new TextEncoder().encode(text);
  for (let written = 0; written < bytes.length;) {
    written += await conn.write(bytes.subarray(written));
  }
}

/** Everything the server sends until it closes, or as much as is allowed. */
async function readAnswer(conn: Deno.Conn): Promise<string> {
  const buffer = new Uint8Array(MAX_ANSWER_BYTES);
  let received = 0;
  while (received < buffer.length) {
    const size = await conn.read(buffer.subarray(received));
    if (size === null) break;
    received += size;
  }
  return new TextDecoder().decode(buffer.subarray(0, received));
}

/** Throws unless `answer` is a 200 whose body is `ok computer`. */
function judge(answer: string): void {
  const status = answer.match(/^HTTP\/1\.[01] (\d{3})/)?.[1];
  if (status === undefined) {
    throw new Error(
      `answered ${JSON.stringify(answer.slice(0, 40))}, not HTTP`,
    );
  }
  const body = answer.slice(answer.indexOf("\r\n\r\n") + 4);
  if (status !== "200" || body !== HEALTHY_BODY) {
    throw new Error(
      `answered ${status} ${JSON.stringify(body.slice(0, 80))}, ` +
        `not 200 ${JSON.stringify(HEALTHY_BODY)}`,
    );
  }
}
