/**
 * IP addresses between their text and their bytes, as the PROXY protocol
 * carries them: as text in version 1, as bytes in version 2. Both kinds come
 * out as the same text, so a client's address reads the same whichever
 * version the load balancer speaks.
 *
 * @module
 */

/**
 * The 4 bytes of an IPv4 address written as four decimal numbers from 0 to
 * 255 with no leading zeros (so `010` cannot be taken for octal), or
 * undefined for anything else.
 *
 * @example
 * ```ts
 * import { parseIPv4 } from "./ip_address.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(parseIPv4("192.0.2.1"), new Uint8Array([192, 0, 2, 1]));
 * assert.equal(parseIPv4("192.0.2.01"), undefined);
 * ```
 */
export function parseIPv4(text: string): Uint8Array | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const bytes = new Uint8Array(4);
  for (const [index, part] of parts.entries()) {
    if (!/^(0|[1-9]\d{0,2})$/.test(part) || Number(part) > 255) {
      return undefined;
    }
    bytes[index] = Number(part);
  }
  return bytes;
}

/**
 * The 16 bytes of an IPv6 address: eight groups of 1 to 4 hex digits, in
 * either case, with at most one `::` for a run of zero groups and, in place
 * of the last two groups, an IPv4 address (`::ffff:192.0.2.1`, as
 * `inet_ntop` writes mapped addresses); undefined for anything else.
 *
 * @example
 * ```ts
 * import { parseIPv6 } from "./ip_address.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(parseIPv6("::1"), new Uint8Array([...Array(15).fill(0), 1]));
 * assert.equal(parseIPv6("1::2::3"), undefined);
 * ```
 */
export function parseIPv6(text: string): Uint8Array | undefined {
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const groups = halves.map((half) => half === "" ? [] : half.split(":"));
  const last = groups.at(-1)!;
  if (last.at(-1)?.includes(".")) {
    const ipv4 = parseIPv4(last.pop()!);
    if (ipv4 === undefined) return undefined;
    last.push(hex(ipv4[0], ipv4[1]), hex(ipv4[2], ipv4[3]));
  }
  const count = groups[0].length + (groups[1]?.length ?? 0);
  if (halves.length === 1 ? count !== 8 : count > 7) return undefined;
  const all = halves.length === 1
    ? groups[0]
    : [...groups[0], ...Array(8 - count).fill("0"), ...groups[1]];
  const bytes = new Uint8Array(16);
  for (const [index, group] of all.entries()) {
    if (!/^[0-9a-f]{1,4}$/i.test(group)) return undefined;
    const value = parseInt(group, 16);
    bytes[2 * index] = value >> 8;
    bytes[2 * index + 1] = value & 0xff;
  }
  return bytes;
}

/**
 * An address's text from its 4 or 16 bytes. IPv6 is written as RFC 5952
 * says: lower case, no leading zeros, the longest run of two or more zero
 * groups as `::`, and an IPv4-mapped address as `::ffff:192.0.2.1`.
 *
 * @example
 * ```ts
 * import { formatIP, parseIPv6 } from "./ip_address.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(formatIP(new Uint8Array([127, 0, 0, 1])), "127.0.0.1");
 * assert.equal(formatIP(parseIPv6("2001:DB8:0:0:0:0:0:1")!), "2001:db8::1");
 * ```
 */
export function formatIP(bytes: Uint8Array): string {
  if (bytes.length === 4) return bytes.join(".");
  if (
    bytes.subarray(0, 10).every((byte) => byte === 0) &&
    bytes[10] === 0xff && bytes[11] === 0xff
  ) {
    return `::ffff:${bytes.subarray(12).join(".")}`;
  }
  const groups = Array.from(
    { length: 8 },
    (_, index) => (bytes[2 * index] << 8 | bytes[2 * index + 1]).toString(16),
  );
  // The longest run of zero groups, the first of equals; one alone stays.
  let [start, length] = [-1, 1];
  for (let index = 0; index < 8;) {
    let end = index;
    while (end < 8 && groups[end] === "0") end++;
    if (end - index > length) [start, length] = [index, end - index];
    index = end + 1;
  }
  if (start < 0) return groups.join(":");
  return `${groups.slice(0, start).join(":")}::${
    groups.slice(start + length).join(":")
  }`;
}

function hex(high: number, low: number): string {
  return (high << 8 | low).toString(16);
}
