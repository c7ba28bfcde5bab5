/** A host and port to listen on; port 0 means any free port. */
export interface ListenAddress {
  /** A hostname or an IP address: `0.0.0.0` listens on every address. */
  hostname: string;
  /** The TCP port. */
  port: number;
}

/**
 * The port `text` writes in decimal, from 0 to 65535 and with no leading
 * zero, as a PROXY protocol header must write it; otherwise undefined. The
 * settings take ports by the same rule, so that `04000` means nothing
 * anywhere.
 *
 * @example
 * ```ts
 * import { parsePort } from "./net_addr.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(parsePort("4000"), 4000);
 * assert.equal(parsePort("0"), 0);
 * assert.equal(parsePort("04000"), undefined);
 * assert.equal(parsePort("65536"), undefined);
 * ```
 */
export function parsePort(text: string): number | undefined {
  return /^(0|[1-9]\d{0,4})$/.test(text) && Number(text) <= 65535
    ? Number(text)
    : undefined;
}

/** An IPv4-mapped IPv6 address, as a dual-stack socket reports an IPv4 peer. */
const IPV4_MAPPED = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i;

/**
 * Formats a hostname and port as `host:port`, bracketing IPv6 hosts. An
 * IPv4-mapped IPv6 address (`::ffff:192.0.2.1`) is written as the IPv4
 * address it is.
 *
 * @example
 * ```ts
 * import { formatHostPort } from "./net_addr.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(formatHostPort({ hostname: "127.0.0.1", port: 4000 }), "127.0.0.1:4000");
 * assert.equal(formatHostPort({ hostname: "::1", port: 4001 }), "[::1]:4001");
 * assert.equal(formatHostPort({ hostname: "::ffff:127.0.0.1", port: 5000 }), "127.0.0.1:5000");
 * ```
 */
export function formatHostPort(
  address: { hostname: string; port: number },
): string {
  const { port } = address;
  const hostname = IPV4_MAPPED.exec(address.hostname)?.[1] ?? address.hostname;
  return hostname.includes(":")
    ? `[${hostname}]:${port}`
    : `${hostname}:${port}`;
}

/**
 * Whether `hostname` can only be reached from this machine: `localhost`,
 * 127.0.0.0/8, `::1`, or 127.0.0.0/8 mapped into IPv6. Ask it of a bound
 * address, which the system has put in this form (`127.1` binds as
 * `127.0.0.1`).
 *
 * @example
 * ```ts
 * import { isLoopback } from "./net_addr.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(isLoopback("127.0.0.1"), true);
 * assert.equal(isLoopback("::ffff:127.0.0.1"), true);
 * assert.equal(isLoopback("0.0.0.0"), false);
 * ```
 */
export function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "::1" ||
    /^(::ffff:)?127\.\d+\.\d+\.\d+$/i.test(hostname);
}
