import assert from "node:assert/strict";
import fc from "fast-check";
import {
  parseProxyHeader,
  type ProxyHeaderParse,
} from "../src/echo/proxy_protocol.ts";
import {
  addressText,
  anyHeader,
  tlvBytes,
  V2_SIGNATURE,
  v2Bytes,
  v2Header,
} from "./_proxy_header.ts";

/** The longest PROXY header, as load-balancers.md states it: 4 KiB. */
const MAX_HEADER_BYTES = 4_096;

const text = (line: string) => new TextEncoder().encode(line);
const ipv4 = (...bytes: number[]) => new Uint8Array(bytes);
const ipv6 = (last: number) =>
  new Uint8Array([0x20, 0x01, 0x0d, 0xb8, ...Array(11).fill(0), last]);

function problemOf(parsed: ProxyHeaderParse): string {
  assert.equal(parsed.kind, "invalid", JSON.stringify(parsed));
  return (parsed as { problem: string }).problem;
}

Deno.test("the tests' own writer of expected addresses, apart from the service's, writes literal addresses as the README does", () => {
  const groups = (...words: number[]) =>
    new Uint8Array(words.flatMap((word) => [word >> 8, word & 0xff]));
  for (
    const [ip, text] of [
      [ipv4(192, 0, 2, 1), "192.0.2.1"],
      [ipv4(0, 0, 0, 0), "0.0.0.0"],
      [ipv6(1), "2001:db8::1"],
      [groups(0, 0, 0, 0, 0, 0, 0, 1), "::1"],
      [groups(0, 0, 0, 0, 0, 0, 0, 0), "::"],
      [groups(1, 0, 0, 2, 0, 0, 0, 3), "1:0:0:2::3"],
      [groups(1, 0, 0, 2, 0, 0, 3, 4), "1::2:0:0:3:4"],
      [groups(0xabcd, 0, 1, 2, 3, 4, 5, 6), "abcd:0:1:2:3:4:5:6"],
      [groups(0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0201), "::ffff:192.0.2.1"],
    ] as const
  ) {
    assert.equal(addressText(ip), text);
  }
});

Deno.test("parseProxyHeader() reads a v1 TCP4 line and says where the data starts", () => {
  assert.deepEqual(
    parseProxyHeader(
      text("PROXY TCP4 192.0.2.7 198.51.100.1 50312 4000\r\nGET"),
    ),
    {
      kind: "complete",
      length: 46,
      header: {
        version: 1,
        source: { hostname: "192.0.2.7", port: 50312 },
        destination: { hostname: "198.51.100.1", port: 4000 },
      },
    },
  );
});

Deno.test("parseProxyHeader() reads a v1 TCP6 line, writing each address in its canonical form", () => {
  const parsed = parseProxyHeader(
    text("PROXY TCP6 2001:DB8:0:0:0:0:0:7 ::ffff:192.0.2.1 65535 0\r\n"),
  );
  assert.deepEqual(parsed, {
    kind: "complete",
    length: 58,
    header: {
      version: 1,
      source: { hostname: "2001:db8::7", port: 65535 },
      destination: { hostname: "::ffff:192.0.2.1", port: 0 },
    },
  });
});

Deno.test("parseProxyHeader() takes v1 UNKNOWN, with or without addresses, as no client address", () => {
  for (const line of ["PROXY UNKNOWN\r\n", "PROXY UNKNOWN ::1 ::1 1 2\r\n"]) {
    assert.deepEqual(parseProxyHeader(text(line + "data")), {
      kind: "complete",
      length: line.length,
      header: { version: 1 },
    });
  }
});

Deno.test("parseProxyHeader() rejects v1 lines that do not match the specification exactly", () => {
  const cases: [string, string][] = [
    [
      "PROXY TCP4 192.0.2.7 198.51.100.1 50312 4000\n",
      "v1 header with a bare LF",
    ],
    ["PROXY TCP4 192.0.2.7\rX", "v1 header with a bare CR"],
    ["PROXY TCP5 1.2.3.4 1.2.3.4 1 2\r\n", "v1 header with an unknown family"],
    ["PROXY UNKNOWNX\r\n", "v1 header with an unknown family"],
    ["PROXY TCP4 1.2.3.4 1.2.3.4 1\r\n", "v1 header without 4 address fields"],
    [
      "PROXY TCP4 1.2.3.4 1.2.3.4 1 2 \r\n",
      "v1 header without 4 address fields",
    ],
    [
      "PROXY TCP4  1.2.3.4 1.2.3.4 1 2\r\n",
      "v1 header without 4 address fields",
    ],
    ["PROXY TCP4 1.2.3.04 1.2.3.4 1 2\r\n", "v1 header with a bad address"],
    ["PROXY TCP4 1.2.3.256 1.2.3.4 1 2\r\n", "v1 header with a bad address"],
    ["PROXY TCP4 ::1 1.2.3.4 1 2\r\n", "v1 header with a bad address"],
    ["PROXY TCP6 1.2.3.4 ::1 1 2\r\n", "v1 header with a bad address"],
    ["PROXY TCP6 ::1 1::2::3 1 2\r\n", "v1 header with a bad address"],
    ["PROXY TCP4 1.2.3.4 1.2.3.4 65536 2\r\n", "v1 header with a bad port"],
    ["PROXY TCP4 1.2.3.4 1.2.3.4 01 2\r\n", "v1 header with a bad port"],
    ["PROXY TCP4 1.2.3.4 1.2.3.4 1 -2\r\n", "v1 header with a bad port"],
    ["PROXY\r\n", "not a PROXY protocol header"],
    ["proxy TCP4", "not a PROXY protocol header"],
    ["GET / HTTP/1.1\r\n", "not a PROXY protocol header"],
  ];
  for (const [line, problem] of cases) {
    assert.equal(problemOf(parseProxyHeader(text(line))), problem, line);
  }
});

Deno.test("parseProxyHeader() takes a v1 line of 107 bytes and rejects one byte more", () => {
  const line = (length: number) =>
    `PROXY UNKNOWN ${"f".repeat(length - 16)}\r\n`;
  assert.equal(parseProxyHeader(text(line(107))).kind, "complete");
  assert.equal(
    parseProxyHeader(text(line(108)).subarray(0, 106)).kind,
    "incomplete",
  );
  assert.equal(
    problemOf(parseProxyHeader(text(line(108)))),
    "v1 header with no CRLF in its first 107 bytes",
  );
  assert.equal(
    problemOf(parseProxyHeader(text(line(200)).subarray(0, 107))),
    "v1 header with no CRLF in its first 107 bytes",
  );
});

Deno.test("parseProxyHeader() reads v2 PROXY over TCP for IPv4 and IPv6", () => {
  const v4 = v2Header({ ip: ipv4(192, 0, 2, 7), port: 50312 }, {
    ip: ipv4(198, 51, 100, 1),
    port: 4000,
  });
  assert.equal(v4.bytes.length, 28);
  assert.deepEqual(parseProxyHeader(v4.bytes), {
    kind: "complete",
    length: 28,
    header: {
      version: 2,
      source: { hostname: "192.0.2.7", port: 50312 },
      destination: { hostname: "198.51.100.1", port: 4000 },
    },
  });
  const v6 = v2Header({ ip: ipv6(7), port: 1 }, { ip: ipv6(1), port: 2 });
  assert.deepEqual(parseProxyHeader(v6.bytes), {
    kind: "complete",
    length: 52,
    header: {
      version: 2,
      source: { hostname: "2001:db8::7", port: 1 },
      destination: { hostname: "2001:db8::1", port: 2 },
    },
  });
});

Deno.test("parseProxyHeader() skips v2 TLVs, which count in the header's length", () => {
  const tlvs = [
    { type: 0x05, value: text("unique-id") },
    { type: 0x04, value: new Uint8Array(0) },
    { type: 0xee, value: new Uint8Array(600) },
  ];
  const { bytes, header } = v2Header(
    { ip: ipv4(10, 0, 0, 1), port: 9 },
    { ip: ipv4(10, 0, 0, 2), port: 10 },
    tlvs,
  );
  const withData = new Uint8Array([...bytes, 0x68, 0x69]);
  assert.deepEqual(parseProxyHeader(withData), {
    kind: "complete",
    length: 28 + 12 + 3 + 603,
    header,
  });
});

Deno.test("parseProxyHeader() takes v2 LOCAL, UNSPEC, UDP and UNIX as no client address", () => {
  const v4Block = [1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 0, 2];
  for (
    const [versionCommand, family, block] of [
      [0x20, 0x00, []], // LOCAL, as health checks send it
      [0x20, 0x11, v4Block], // LOCAL with addresses: still ignored
      [0x20, 0x11, [1, 2, 3]], // LOCAL ignores the family, whatever follows
      [0x21, 0x00, [9, 9, 9]], // PROXY UNSPEC: anything after is ignored
      [0x21, 0x12, v4Block], // UDP over IPv4
      [0x21, 0x10, v4Block], // IPv4, unspecified protocol
      [0x21, 0x31, Array(216).fill(0x61)], // UNIX stream
    ] as const
  ) {
    const bytes = v2Bytes(versionCommand, family, block);
    assert.deepEqual(
      parseProxyHeader(bytes),
      { kind: "complete", length: bytes.length, header: { version: 2 } },
      `${versionCommand} ${family}`,
    );
  }
});

Deno.test("parseProxyHeader() rejects v2 headers with unknown fields, short addresses or overrunning TLVs", () => {
  const v4Block = [1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 0, 2];
  const cases: [Uint8Array, string][] = [
    [v2Bytes(0x11, 0x11, v4Block), "v2 header with version 1"],
    [v2Bytes(0x31, 0x11, v4Block), "v2 header with version 3"],
    [v2Bytes(0x22, 0x11, v4Block), "v2 header with unknown command 2"],
    [
      v2Bytes(0x21, 0x41, v4Block),
      "v2 header with unknown family and protocol 0x41",
    ],
    [
      v2Bytes(0x21, 0x13, v4Block),
      "v2 header with unknown family and protocol 0x13",
    ],
    [
      v2Bytes(0x21, 0x11, v4Block.slice(0, 11)),
      "v2 header too short for its addresses",
    ],
    [v2Bytes(0x21, 0x21, v4Block), "v2 header too short for its addresses"],
    [
      v2Bytes(0x21, 0x11, [...v4Block, 0x04, 0x00]),
      "v2 header with a TLV that overruns it",
    ],
    [
      v2Bytes(0x21, 0x11, [
        ...v4Block,
        ...tlvBytes([{ type: 4, value: new Uint8Array(4) }]).slice(0, -1),
      ]),
      "v2 header with a TLV that overruns it",
    ],
    [
      new Uint8Array([...V2_SIGNATURE.slice(0, 4), 0x01]),
      "not a PROXY protocol header",
    ],
  ];
  for (const [bytes, problem] of cases) {
    assert.equal(problemOf(parseProxyHeader(bytes)), problem);
  }
});

Deno.test("parseProxyHeader() takes a v2 header of 4 KiB (4,096 bytes) and rejects a longer one from its first 16", () => {
  const largest = MAX_HEADER_BYTES - 16;
  const fits = v2Bytes(0x20, 0x00, Array(largest).fill(0));
  assert.equal(parseProxyHeader(fits).kind, "complete");
  const over = v2Bytes(0x20, 0x00, [], largest + 1);
  assert.equal(over.length, 16);
  assert.equal(
    problemOf(parseProxyHeader(over)),
    "v2 header of 4097 bytes, over the limit of 4096",
  );
});

Deno.test("parseProxyHeader() finds any valid header whole, followed by any data, and every part of it incomplete", () => {
  fc.assert(
    fc.property(
      anyHeader,
      fc.uint8Array({ maxLength: 64 }),
      ({ bytes, header }, data) => {
        for (let end = 0; end < bytes.length; end++) {
          assert.deepEqual(parseProxyHeader(bytes.subarray(0, end)), {
            kind: "incomplete",
          });
        }
        assert.deepEqual(
          parseProxyHeader(new Uint8Array([...bytes, ...data])),
          {
            kind: "complete",
            length: bytes.length,
            header,
          },
        );
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("parseProxyHeader() never throws, and once invalid stays invalid, for any bytes", () => {
  const likely = fc.oneof(
    fc.uint8Array({ maxLength: 300 }),
    fc.uint8Array({ maxLength: 120 }).map((rest) =>
      new Uint8Array([...text("PROXY "), ...rest])
    ),
    fc.uint8Array({ maxLength: 300 }).map((rest) =>
      new Uint8Array([...V2_SIGNATURE, ...rest])
    ),
  );
  fc.assert(
    fc.property(likely, (bytes) => {
      let invalidFrom: number | undefined;
      for (let end = 0; end <= bytes.length; end++) {
        const parsed = parseProxyHeader(bytes.subarray(0, end));
        if (parsed.kind === "invalid") invalidFrom ??= end;
        else {assert.equal(
            invalidFrom,
            undefined,
            `valid again at ${end} bytes`,
          );}
        if (parsed.kind === "complete") {
          assert.ok(
            parsed.length <= end && parsed.length <= MAX_HEADER_BYTES,
          );
          break;
        }
      }
    }),
    { numRuns: 1_000 },
  );
});
