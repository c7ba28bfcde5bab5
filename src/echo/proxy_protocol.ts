/**
 * The PROXY protocol header that a load balancer sends first on each
 * connection to name the client it relays, as HAProxy's
 * `doc/proxy-protocol.txt` specifies it: version 1 is a line of text,
 * version 2 a binary block; the first bytes tell them apart.
 *
 * {@linkcode parseProxyHeader} is a pure function over the bytes received so
 * far. A reader calls it again after each read until it says the header is
 * complete or invalid, so a header split across reads, down to one byte per
 * read, parses the same as one read at once; and bytes that no header can
 * begin with are rejected as soon as they arrive.
 *
 * @module
 */
import { formatIP, parseIPv4, parseIPv6 } from "./ip_address.ts";
import { parsePort } from "../net/net_addr.ts";

/** One end of a relayed connection: an IP address and a TCP port. */
export interface ProxiedAddress {
  /** The IP address, as text: `192.0.2.7`, `2001:db8::7`. */
  hostname: string;
  /** The TCP port. */
  port: number;
}

/** What a PROXY protocol header says about the connection it begins. */
export interface ProxyHeader {
  /** The protocol version: 1, text, or 2, binary. */
  version: 1 | 2;
  /**
   * The client, and the address it connected to on the balancer. Both are
   * absent when the header names no TCP client: a v2 `LOCAL` connection (the
   * balancer's own, such as a health check), v1 `UNKNOWN`, or a v2 family
   * other than TCP over IPv4 or IPv6. The socket's own addresses stand then.
   */
  source?: ProxiedAddress;
  /** The address the client connected to, on the balancer. */
  destination?: ProxiedAddress;
}

/** What {@linkcode parseProxyHeader} made of the bytes so far. */
export type ProxyHeaderParse =
  /** A valid start: more bytes are needed. */
  | { kind: "incomplete" }
  /** No more bytes can make this a valid header; `problem` says why. */
  | { kind: "invalid"; problem: string }
  /** A whole header, the first `length` bytes; any after it are data. */
  | { kind: "complete"; header: ProxyHeader; length: number };

/**
 * The longest header accepted, in bytes. A v1 line is at most 107 bytes; a v2
 * header is 16 bytes, the addresses (at most 216) and any TLVs, which are
 * skipped: 4 KiB leaves room for the TLVs balancers send (AWS's endpoint id,
 * HAProxy's unique id and TLS details) and bounds what a connection may hold
 * before it is known to be from a balancer.
 */
export const MAX_PROXY_HEADER_BYTES = 4096;

/** The longest v1 line, CRLF included, that the specification allows. */
const V1_MAX_LINE = 107;
const V1_PREFIX = new TextEncoder().encode("PROXY ");
/** The v2 signature: 0D 0A 0D 0A 00 0D 0A 51 55 49 54 0A. */
const V2_SIGNATURE = new TextEncoder().encode("\r\n\r\n\0\r\nQUIT\n");
const V2_FIXED_BYTES = 16;
const CR = 0x0d;
const LF = 0x0a;

/** v2 commands. */
const LOCAL = 0x0;
const PROXY = 0x1;
/** v2 address families and the bytes of their addresses (UNSPEC, INET, INET6, UNIX). */
const ADDRESS_BYTES = [0, 12, 36, 216];
const [UNSPEC, INET, INET6] = [0, 1, 2];
/** The v2 transport protocol that TCP is (0 is UNSPEC, 2 DGRAM). */
const STREAM = 1;
const MAX_PROTOCOL = 2;

/**
 * Parses the PROXY protocol header at the start of `bytes`, the bytes of a
 * connection received so far. Never throws: every byte sequence is
 * `incomplete`, `invalid` or `complete`, and a longer sequence never turns an
 * `invalid` answer back into a valid one.
 *
 * @example
 * ```ts
 * import { parseProxyHeader } from "./proxy_protocol.ts";
 * import assert from "node:assert/strict";
 *
 * const bytes = new TextEncoder().encode(
 *   "PROXY TCP4 192.0.2.7 198.51.100.1 50312 4000\r\nhello",
 * );
 * assert.deepEqual(parseProxyHeader(bytes), {
 *   kind: "complete",
 *   length: 46,
 *   header: {
 *     version: 1,
 *     source: { hostname: "192.0.2.7", port: 50312 },
 *     destination: { hostname: "198.51.100.1", port: 4000 },
 *   },
 * });
 * assert.deepEqual(parseProxyHeader(bytes.subarray(0, 20)), { kind: "incomplete" });
 * assert.equal(parseProxyHeader(new TextEncoder().encode("GET / ")).kind, "invalid");
 * ```
 */
export function parseProxyHeader(bytes: Uint8Array): ProxyHeaderParse {
  if (beginsLike(bytes, V2_SIGNATURE)) return parseV2(bytes);
  if (beginsLike(bytes, V1_PREFIX)) return parseV1(bytes);
  return invalid("not a PROXY protocol header");
}

/** Whether `bytes` and `prefix` agree as far as both go. */
function beginsLike(bytes: Uint8Array, prefix: Uint8Array): boolean {
  const length = Math.min(bytes.length, prefix.length);
  for (let index = 0; index < length; index++) {
    if (bytes[index] !== prefix[index]) return false;
  }
  return true;
}

function parseV1(bytes: Uint8Array): ProxyHeaderParse {
  const end = Math.min(bytes.length, V1_MAX_LINE);
  let lineLength = -1;
  for (let index = 0; index < end && lineLength < 0; index++) {
    if (bytes[index] === LF) return invalid("v1 header with a bare LF");
    if (bytes[index] !== CR) continue;
    if (index + 1 === V1_MAX_LINE) break;
    if (index + 1 === bytes.length) return INCOMPLETE;
    if (bytes[index + 1] !== LF) return invalid("v1 header with a bare CR");
    lineLength = index;
  }
  if (lineLength < 0) {
    return bytes.length < V1_MAX_LINE
      ? INCOMPLETE
      : invalid(`v1 header with no CRLF in its first ${V1_MAX_LINE} bytes`);
  }
  const line = String.fromCharCode(...bytes.subarray(0, lineLength));
  const [, family, ...fields] = line.split(" ");
  const length = lineLength + 2;
  if (family === "UNKNOWN") return complete({ version: 1 }, length);
  const parseIP = family === "TCP4"
    ? parseIPv4
    : family === "TCP6"
    ? parseIPv6
    : undefined;
  if (parseIP === undefined) return invalid("v1 header with an unknown family");
  if (fields.length !== 4) return invalid("v1 header without 4 address fields");
  const [sourceIP, destinationIP] = fields.slice(0, 2).map(parseIP);
  const [sourcePort, destinationPort] = fields.slice(2).map(parsePort);
  if (!sourceIP || !destinationIP) {
    return invalid("v1 header with a bad address");
  }
  if (sourcePort === undefined || destinationPort === undefined) {
    return invalid("v1 header with a bad port");
  }
  return complete({
    version: 1,
    source: { hostname: formatIP(sourceIP), port: sourcePort },
    destination: { hostname: formatIP(destinationIP), port: destinationPort },
  }, length);
}

function parseV2(bytes: Uint8Array): ProxyHeaderParse {
  if (bytes.length <= V2_SIGNATURE.length) return INCOMPLETE;
  const version = bytes[12] >> 4;
  const command = bytes[12] & 0xf;
  if (version !== 2) return invalid(`v2 header with version ${version}`);
  if (command !== LOCAL && command !== PROXY) {
    return invalid(`v2 header with unknown command ${command}`);
  }
  if (bytes.length < 14) return INCOMPLETE;
  const family = bytes[13] >> 4;
  const protocol = bytes[13] & 0xf;
  if (family >= ADDRESS_BYTES.length || protocol > MAX_PROTOCOL) {
    return invalid(
      `v2 header with unknown family and protocol 0x${bytes[13].toString(16)}`,
    );
  }
  if (bytes.length < V2_FIXED_BYTES) return INCOMPLETE;
  const length = V2_FIXED_BYTES + (bytes[14] << 8 | bytes[15]);
  if (length > MAX_PROXY_HEADER_BYTES) {
    return invalid(
      `v2 header of ${length} bytes, over the limit of ${MAX_PROXY_HEADER_BYTES}`,
    );
  }
  if (bytes.length < length) return INCOMPLETE;
  // LOCAL: the balancer's own connection; the block, family and all, is skipped.
  if (command === LOCAL) return complete({ version: 2 }, length);
  const tlvStart = V2_FIXED_BYTES + ADDRESS_BYTES[family];
  if (tlvStart > length) {
    return invalid("v2 header too short for its addresses");
  }
  if (family !== UNSPEC && !tlvsFit(bytes, tlvStart, length)) {
    return invalid("v2 header with a TLV that overruns it");
  }
  if (protocol !== STREAM || (family !== INET && family !== INET6)) {
    return complete({ version: 2 }, length);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, length);
  const ipBytes = family === INET ? 4 : 16;
  const ports = V2_FIXED_BYTES + 2 * ipBytes;
  const ip = (offset: number) =>
    formatIP(bytes.slice(offset, offset + ipBytes));
  return complete({
    version: 2,
    source: { hostname: ip(16), port: view.getUint16(ports) },
    destination: {
      hostname: ip(V2_FIXED_BYTES + ipBytes),
      port: view.getUint16(ports + 2),
    },
  }, length);
}

/** Whether the TLVs (type, 2-byte length, value) fill `start` to `end` exactly. */
function tlvsFit(bytes: Uint8Array, start: number, end: number): boolean {
  let offset = start;
  while (offset + 3 <= end) {
    offset += 3 + (bytes[offset + 1] << 8 | bytes[offset + 2]);
  }
  return offset === end;
}

const INCOMPLETE: ProxyHeaderParse = { kind: "incomplete" };

function invalid(problem: string): ProxyHeaderParse {
  return { kind: "invalid", problem };
}

function complete(header: ProxyHeader, length: number): ProxyHeaderParse {
  return { kind: "complete", header, length };
}
