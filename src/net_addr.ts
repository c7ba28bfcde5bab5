/**
 * Formats a hostname and port as `host:port`, bracketing IPv6 hosts.
 *
 * @example
 * ```ts
 * import { formatHostPort } from "./net_addr.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(formatHostPort({ hostname: "127.0.0.1", port: 4000 }), "127.0.0.1:4000");
 * assert.equal(formatHostPort({ hostname: "::1", port: 4001 }), "[::1]:4001");
 * ```
 */
export function formatHostPort(
  address: { hostname: string; port: number },
): string {
  const { hostname, port } = address;
  return hostname.includes(":")
    ? `[${hostname}]:${port}`
    : `${hostname}:${port}`;
}
