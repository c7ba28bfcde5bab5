import fc from "fast-check";
import type { ProxyHeader } from "../src/echo/proxy_protocol.ts";

/** The v2 signature, the first 12 bytes of every v2 header. */
export const V2_SIGNATURE = [
  ...new TextEncoder().encode("\r\n\r\n\0\r\nQUIT\n"),
];

/** One end of a connection as a header carries it: IP bytes and a port. */
export interface Endpoint {
  ip: Uint8Array;
  port: number;
}

/** A v2 TLV: a type and a value. */
export interface Tlv {
  type: number;
  value: Uint8Array;
}

/** A header to send and what a parser must find in it. */
export interface SentHeader {
  bytes: Uint8Array;
  header: ProxyHeader;
}

/**
 * An address as the service must write it, worked out apart from the
 * service's own `formatIP`: IPv4 in dotted decimal; IPv6 as the URL standard
 * writes it (RFC 5952's form: lower case, the longest run of zero groups as
 * `::`), but an IPv4-mapped one as `::ffff:` and dotted decimal.
 */
export function addressText(ip: Uint8Array): string {
  if (ip.length === 4) return ip.join(".");
  const mapped = ip.subarray(0, 10).every((byte) => byte === 0) &&
    ip[10] === 0xff && ip[11] === 0xff;
  if (mapped) return `::ffff:${ip.subarray(12).join(".")}`;
  return new URL(`http://[${v6Text(ip)}]/`).hostname.slice(1, -1);
}

/** The header a parser finds for these two ends, in a given version. */
function expected(
  version: 1 | 2,
  source: Endpoint,
  destination: Endpoint,
): ProxyHeader {
  return {
    version,
    source: { hostname: addressText(source.ip), port: source.port },
    destination: {
      hostname: addressText(destination.ip),
      port: destination.port,
    },
  };
}

/** A v1 header line for TCP over IPv4 or IPv6 (by the length of `ip`). */
export function v1Header(source: Endpoint, destination: Endpoint): SentHeader {
  const family = source.ip.length === 4 ? "TCP4" : "TCP6";
  const text = (ip: Uint8Array) => ip.length === 4 ? ip.join(".") : v6Text(ip);
  const line = `PROXY ${family} ${text(source.ip)} ${
    text(destination.ip)
  } ${source.port} ${destination.port}\r\n`;
  return {
    bytes: new TextEncoder().encode(line),
    header: expected(1, source, destination),
  };
}

/** IPv6 text in full, eight groups, with no compression. */
function v6Text(ip: Uint8Array): string {
  return Array.from(
    { length: 8 },
    (_, index) => (ip[2 * index] << 8 | ip[2 * index + 1]).toString(16),
  ).join(":");
}

/** A v2 header: PROXY over TCP for these ends, then the TLVs. */
export function v2Header(
  source: Endpoint,
  destination: Endpoint,
  tlvs: readonly Tlv[] = [],
): SentHeader {
  const family = source.ip.length === 4 ? 0x11 : 0x21;
  const ports = [source.port >> 8, source.port & 0xff];
  ports.push(destination.port >> 8, destination.port & 0xff);
  const block = [...source.ip, ...destination.ip, ...ports, ...tlvBytes(tlvs)];
  return {
    bytes: v2Bytes(0x21, family, block),
    header: expected(2, source, destination),
  };
}

/** A v2 header's bytes from its command byte, family byte and the block after. */
export function v2Bytes(
  versionCommand: number,
  family: number,
  block: readonly number[],
  length = block.length,
): Uint8Array {
  return new Uint8Array([
    ...V2_SIGNATURE,
    versionCommand,
    family,
    length >> 8,
    length & 0xff,
    ...block,
  ]);
}

/** TLVs as bytes: type, 2-byte length, value. */
export function tlvBytes(tlvs: readonly Tlv[]): number[] {
  return tlvs.flatMap(({ type, value }) => [
    type,
    value.length >> 8,
    value.length & 0xff,
    ...value,
  ]);
}

/**
 * Any IPv6 address, with runs of zero groups, and IPv4-mapped addresses, far
 * more often than chance: the cases that writing one out has to get right.
 */
const ipv6 = fc.oneof(
  fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff })), {
    minLength: 8,
    maxLength: 8,
  }).map((groups) =>
    new Uint8Array(groups.flatMap((group) => [group >> 8, group & 0xff]))
  ),
  fc.uint8Array({ minLength: 4, maxLength: 4 }).map((ipv4) =>
    new Uint8Array([...Array(10).fill(0), 0xff, 0xff, ...ipv4])
  ),
);

const endpoint = (ipBytes: 4 | 16) =>
  fc.record({
    ip: ipBytes === 4 ? fc.uint8Array({ minLength: 4, maxLength: 4 }) : ipv6,
    port: fc.integer({ min: 0, max: 65535 }),
  });

const tlvs = fc.array(
  fc.record({
    type: fc.integer({ min: 0, max: 255 }),
    value: fc.uint8Array({ maxLength: 300 }),
  }),
  { maxLength: 6 },
);

/** Any valid header naming a TCP client: v1 or v2, IPv4 or IPv6, v2 with any TLVs (within the limit). */
export const anyHeader: fc.Arbitrary<SentHeader> = fc.constantFrom(4, 16)
  .chain((ipBytes) =>
    fc.oneof(
      fc.tuple(endpoint(ipBytes), endpoint(ipBytes)).map(([source, target]) =>
        v1Header(source, target)
      ),
      fc.tuple(endpoint(ipBytes), endpoint(ipBytes), tlvs).map((
        [source, target, extra],
      ) => v2Header(source, target, extra)),
    )
  );

/** Bytes cut into pieces of at least one byte at the given cut points. */
export function cut(
  bytes: Uint8Array,
  points: readonly number[],
): Uint8Array[] {
  const sorted = [...new Set(points.map((point) => point % bytes.length))]
    .filter((point) => point > 0).sort((a, b) => a - b);
  return [0, ...sorted].map((start, index) =>
    bytes.subarray(start, sorted[index] ?? bytes.length)
  );
}
