import assert from "node:assert/strict";
import fc from "fast-check";
import { formatIP, parseIPv4, parseIPv6 } from "../src/echo/ip_address.ts";

/** Any IPv6 address, with runs of zero groups far more often than chance. */
const ipv6Bytes = fc.array(
  fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff })),
  { minLength: 8, maxLength: 8 },
).map((groups) =>
  new Uint8Array(groups.flatMap((group) => [group >> 8, group & 0xff]))
);

Deno.test("parseIPv4() takes dotted decimal with no leading zeros, and nothing else", () => {
  assert.deepEqual(parseIPv4("0.0.0.0"), new Uint8Array(4));
  assert.deepEqual(
    parseIPv4("255.255.255.255"),
    new Uint8Array([255, 255, 255, 255]),
  );
  for (
    const bad of [
      "1.2.3",
      "1.2.3.4.5",
      "1.2.3.256",
      "01.2.3.4",
      "1.2.3.",
      "a.b.c.d",
      " 1.2.3.4",
      "1.2.3.-4",
      "",
    ]
  ) {
    assert.equal(parseIPv4(bad), undefined, bad);
  }
});

Deno.test("parseIPv6() takes every form the specification and inet_ntop write, and rejects the rest", () => {
  const loopback = new Uint8Array([...Array(15).fill(0), 1]);
  for (const good of ["::1", "0:0:0:0:0:0:0:1", "0000:0000::0001", "::0:1"]) {
    assert.deepEqual(parseIPv6(good), loopback, good);
  }
  assert.deepEqual(parseIPv6("::"), new Uint8Array(16));
  assert.deepEqual(
    parseIPv6("::FFFF:192.0.2.1"),
    new Uint8Array([...Array(10).fill(0), 0xff, 0xff, 192, 0, 2, 1]),
  );
  for (
    const bad of [
      "1:2:3:4:5:6:7",
      "1:2:3:4:5:6:7:8:9",
      "1::2::3",
      "1:2:3:4::5:6:7:8",
      ":1:2:3:4:5:6:7",
      "12345::",
      "g::",
      "::1.2.3.04",
      "::1.2.3.4:5",
      "1.2.3.4",
      "",
    ]
  ) {
    assert.equal(parseIPv6(bad), undefined, bad);
  }
});

Deno.test("formatIP() writes IPv6 as the URL standard does, and mapped IPv4 in dotted form", () => {
  fc.assert(
    fc.property(ipv6Bytes, (bytes) => {
      const text = formatIP(bytes);
      const isMapped = bytes.subarray(0, 10).every((byte) => byte === 0) &&
        bytes[10] === 0xff && bytes[11] === 0xff;
      if (isMapped) {
        assert.equal(text, `::ffff:${bytes.subarray(12).join(".")}`);
      } else assert.equal(`[${text}]`, new URL(`http://[${text}]/`).hostname);
    }),
    { numRuns: 500 },
  );
  assert.equal(formatIP(parseIPv6("1:0:0:2:0:0:0:3")!), "1:0:0:2::3");
  assert.equal(formatIP(parseIPv6("1:0:0:2:0:0:3:4")!), "1::2:0:0:3:4");
  assert.equal(formatIP(parseIPv6("1:0:2:3:4:5:6:7")!), "1:0:2:3:4:5:6:7");
});

Deno.test("parseIPv6() reads back whatever formatIP() writes", () => {
  fc.assert(
    fc.property(
      fc.oneof(
        ipv6Bytes,
        fc.uint8Array({ minLength: 4, maxLength: 4 }).map((ip) =>
          new Uint8Array([...Array(10).fill(0), 0xff, 0xff, ...ip])
        ),
      ),
      (bytes) => assert.deepEqual(parseIPv6(formatIP(bytes)), bytes),
    ),
    { numRuns: 500 },
  );
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 4, maxLength: 4 }),
      (bytes) => assert.deepEqual(parseIPv4(formatIP(bytes)), bytes),
    ),
  );
});
