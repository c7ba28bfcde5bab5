import assert from "node:assert/strict";
import fc from "fast-check";
import { handleEchoConnection } from "../src/echo/echo.ts";
import type { EchoResult } from "../src/echo/echo_stream.ts";
import {
  ProxyHeaderError,
  readProxyHeader,
} from "../src/echo/read_proxy_header.ts";
import { FakeTime } from "./_fake_time.ts";
import { stub } from "./_stub.ts";
import { type MemoryStream, memoryStreamPair } from "./_memory_stream.ts";
import {
  anyHeader,
  cut,
  type SentHeader,
  V2_SIGNATURE,
  v2Bytes,
  v2Header,
} from "./_proxy_header.ts";
import { readExactly } from "./_read.ts";

const timeouts = { initialMs: 5_000, refreshMs: 30_000 };
const text = (line: string) => new TextEncoder().encode(line);

/** Reads the header from `server`, then echoes as the service does. */
async function serveProxied(
  server: MemoryStream,
  signal?: AbortSignal,
): Promise<{ result: EchoResult; header?: unknown }> {
  const read = await readProxyHeader(server, {
    timeoutMs: timeouts.initialMs,
    signal,
  });
  if (read.kind === "ended") return { result: read.result };
  const result = await handleEchoConnection(read.stream, { timeouts, signal });
  return { result, header: read.header };
}

/** Everything `client` reads until the end of the stream. */
async function readAll(client: MemoryStream): Promise<Uint8Array> {
  const parts: number[] = [];
  const buffer = new Uint8Array(4096);
  for (let size; (size = await client.read(buffer)) !== null;) {
    parts.push(...buffer.subarray(0, size));
  }
  return new Uint8Array(parts);
}

/** Writes `chunks` in turn, then ends the client's sending side. */
async function send(client: MemoryStream, chunks: Uint8Array[]): Promise<void> {
  for (const chunk of chunks) await client.write(chunk);
  client.closeWrite();
}

const v4Header = v2Header({ ip: new Uint8Array([192, 0, 2, 7]), port: 50312 }, {
  ip: new Uint8Array([192, 0, 2, 1]),
  port: 4000,
});

Deno.test("readProxyHeader() then the echo: any header, then any payload, in any chunks, buffered or lockstep", async () => {
  await fc.assert(
    fc.asyncProperty(
      anyHeader,
      fc.uint8Array({ maxLength: 3_000 }),
      fc.array(fc.nat(), { maxLength: 12 }),
      fc.boolean(),
      async ({ bytes, header }, payload, cutAt, lockstep) => {
        const [server, client] = memoryStreamPair({ lockstep });
        const served = serveProxied(server);
        const sent = new Uint8Array([...bytes, ...payload]);
        const [echoed] = await Promise.all([
          readAll(client),
          send(client, cut(sent, cutAt)),
        ]);
        assert.deepEqual(echoed, payload);
        assert.deepEqual(await served, {
          result: { reason: "closed", bytesEchoed: payload.length },
          header,
        });
      },
    ),
    { numRuns: 150 },
  );
});

Deno.test("readProxyHeader() takes a header sent one byte per read over a lockstep stream", async () => {
  const { bytes, header } = v4Header;
  const [server, client] = memoryStreamPair({ lockstep: true });
  const served = serveProxied(server);
  const sent = new Uint8Array([...bytes, ...text("hi")]);
  const [echoed] = await Promise.all([
    readAll(client),
    send(client, cut(sent, [...sent.keys()])),
  ]);
  assert.deepEqual(echoed, text("hi"));
  assert.deepEqual((await served).header, header);
});

/** Ways to spoil a valid header that no parser may accept. */
const corrupted: fc.Arbitrary<Uint8Array> = fc.oneof(
  // A wrong byte where a signature, version, command or family must be.
  fc.tuple(anyHeader, fc.nat(), fc.integer({ min: 1, max: 255 })).map((
    [{ bytes }, at, delta],
  ) => {
    const isV2 = bytes[0] === V2_SIGNATURE[0];
    const spoiled = bytes.slice();
    const index = at % (isV2 ? 12 : 6);
    spoiled[index] = (spoiled[index] + delta) % 256;
    return spoiled;
  }),
  fc.tuple(anyHeader, fc.integer({ min: 0x22, max: 0x11f })).map((
    [{ bytes }, versionCommand],
  ) => {
    const spoiled = bytes.slice();
    if (bytes[0] === V2_SIGNATURE[0]) {
      spoiled[12] = versionCommand & 0xff; // never 0x20 or 0x21
    } else {
      spoiled[bytes.length - 1] = 0x20; // a v1 line ending in a lone CR
    }
    return spoiled;
  }),
  // A v1 line ending in a lone LF.
  anyHeader.filter(({ bytes }) => bytes[0] === 0x50).map(({ bytes }) =>
    new Uint8Array([...bytes.subarray(0, -2), 0x0a])
  ),
  // A v2 header over the limit, or text that is no header at all.
  fc.integer({ min: 4_096 - 15, max: 0xffff }).map((length) =>
    v2Bytes(0x21, 0x11, [], length)
  ),
  fc.uint8Array({ minLength: 1, maxLength: 200 }).filter((bytes) =>
    bytes[0] !== 0x50 && bytes[0] !== 0x0d
  ),
);

Deno.test("readProxyHeader() closes on any corrupted header, echoing nothing, with no exception", async () => {
  await fc.assert(
    fc.asyncProperty(
      corrupted,
      fc.uint8Array({ maxLength: 2_000 }),
      fc.array(fc.nat(), { maxLength: 8 }),
      fc.boolean(),
      async (bad, payload, cutAt, lockstep) => {
        const [server, client] = memoryStreamPair({ lockstep });
        const served = serveProxied(server);
        const sent = new Uint8Array([...bad, ...payload]);
        const sending = send(client, cut(sent, cutAt)).catch(() => {});
        const [echoed] = await Promise.all([readAll(client), sending]);
        assert.deepEqual(echoed, new Uint8Array(0));
        const { result } = await served;
        assert.equal(result.reason, "proxy_header");
        assert.equal(result.bytesEchoed, 0);
        assert.ok(result.error instanceof ProxyHeaderError);
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("readProxyHeader() closes at once on bytes no header begins with, without waiting for more", async () => {
  using time = new FakeTime(0);
  using _now = stub(performance, "now", () => time.now);
  const [server, client] = memoryStreamPair();
  const read = readProxyHeader(server, { timeoutMs: 5_000 });
  let endedAt: number | undefined;
  read.then(() => endedAt = time.now);
  await client.write(text("GET"));
  await time.tickAsync(0);
  assert.equal(endedAt, 0, "still open, waiting for more bytes");
  assert.equal(await client.read(new Uint8Array(1)), null);
  await time.tickAsync(5_000);
  const ended = await read;
  assert.equal(
    ended.kind === "ended" && String(ended.result.error),
    "ProxyHeaderError: not a PROXY protocol header",
  );
});

Deno.test("readProxyHeader() ends a connection closed before a whole header as proxy_header", async () => {
  const [server, client] = memoryStreamPair();
  const read = readProxyHeader(server, { timeoutMs: 5_000 });
  await client.write(v4Header.bytes.subarray(0, 20));
  client.closeWrite();
  assert.deepEqual(await read, {
    kind: "ended",
    result: {
      reason: "proxy_header",
      bytesEchoed: 0,
      error: new ProxyHeaderError(
        "closed before a whole PROXY protocol header",
      ),
    },
  });
});

Deno.test("readProxyHeader() closes a client that sends no whole header by the deadline, not before", async () => {
  for (const sent of [new Uint8Array(0), v4Header.bytes.subarray(0, 27)]) {
    using time = new FakeTime(0);
    using _now = stub(performance, "now", () => time.now);
    const [server, client] = memoryStreamPair();
    const read = readProxyHeader(server, { timeoutMs: 3_000 });
    let endedAt: number | undefined;
    read.then(() => endedAt = time.now);
    // Bytes of a header arriving do not move the deadline.
    await time.tickAsync(2_000);
    if (sent.length > 0) await client.write(sent);
    await time.tickAsync(999);
    await time.runMicrotasks();
    assert.equal(endedAt, undefined);
    await time.tickAsync(1);
    await time.runMicrotasks();
    assert.equal(endedAt, 3_000);
    const ended = await read;
    assert.equal(ended.kind === "ended" && ended.result.reason, "proxy_header");
    assert.equal(
      ended.kind === "ended" && String(ended.result.error),
      "ProxyHeaderError: no PROXY protocol header within 3000 ms",
    );
    assert.equal(await client.read(new Uint8Array(1)), null);
  }
});

Deno.test("readProxyHeader() on shutdown closes a connection waiting for its header", async () => {
  const shutdown = new AbortController();
  const [server, client] = memoryStreamPair();
  const read = readProxyHeader(server, {
    timeoutMs: 5_000,
    signal: shutdown.signal,
  });
  await client.write(v4Header.bytes.subarray(0, 5));
  shutdown.abort();
  assert.deepEqual(await read, {
    kind: "ended",
    result: { reason: "shutdown", bytesEchoed: 0 },
  });
  assert.equal(await client.read(new Uint8Array(1)), null);
});

Deno.test("readProxyHeader() with the signal already aborted ends at once, reading nothing", async () => {
  using time = new FakeTime(0);
  using _now = stub(performance, "now", () => time.now);
  const already = readProxyHeader(memoryStreamPair()[0], {
    timeoutMs: 5_000,
    signal: AbortSignal.abort(),
  });
  let endedAt: number | undefined;
  already.then(() => endedAt = time.now);
  await time.tickAsync(0);
  assert.equal(endedAt, 0, "ended before any time passed");
  assert.deepEqual(await already, {
    kind: "ended",
    result: { reason: "shutdown", bytesEchoed: 0 },
  });
});

Deno.test("readProxyHeader() ends a reset as reset and any other stream error as error", async () => {
  for (
    const [error, reason] of [
      [new Deno.errors.ConnectionReset("connection reset"), "reset"],
      [new Deno.errors.InvalidData("bad frame"), "error"],
    ] as const
  ) {
    const [server, client] = memoryStreamPair();
    const read = readProxyHeader(server, { timeoutMs: 5_000 });
    client.reset(error);
    assert.deepEqual(await read, {
      kind: "ended",
      result: { reason, bytesEchoed: 0, error },
    });
  }
});

Deno.test("readProxyHeader() hands on the bytes after the header however small the reads", async () => {
  const [server, client] = memoryStreamPair();
  const payload = text("the bytes after the header, read back one at a time");
  await client.write(new Uint8Array([...v4Header.bytes, ...payload]));
  const read = await readProxyHeader(server, { timeoutMs: 5_000 });
  assert.equal(read.kind, "header");
  if (read.kind !== "header") return;
  const one = new Uint8Array(1);
  const received: number[] = [];
  for (let index = 0; index < payload.length; index++) {
    assert.equal(await read.stream.read(one), 1);
    received.push(one[0]);
  }
  assert.deepEqual(new Uint8Array(received), payload);
  await read.stream.write(text("ok"));
  assert.deepEqual(await readExactly(client, 2), text("ok"));
  read.stream.close();
  assert.equal(await client.read(one), null);
});

Deno.test("readProxyHeader() with nothing after the header reads the stream itself", async () => {
  const [server, client] = memoryStreamPair();
  await client.write(v4Header.bytes);
  const read = await readProxyHeader(server, { timeoutMs: 5_000 });
  assert.equal(read.kind === "header" && read.stream, server);
  server.close();
});

/** A valid header of `length` bytes: v2 over IPv4 with one NOOP TLV filling it. */
function headerOfLength(length: number): SentHeader {
  return v2Header(
    { ip: new Uint8Array([10, 0, 0, 1]), port: 1 },
    { ip: new Uint8Array([10, 0, 0, 2]), port: 2 },
    [{ type: 0x04, value: new Uint8Array(length - 28 - 3) }],
  );
}

Deno.test("readProxyHeader() takes a header of 4 KiB (4,096 bytes), more than its first read", async () => {
  const { bytes, header } = headerOfLength(4_096);
  const [server, client] = memoryStreamPair();
  await client.write(new Uint8Array([...bytes, ...text("x")]));
  const read = await readProxyHeader(server, { timeoutMs: 5_000 });
  assert.equal(read.kind, "header");
  if (read.kind !== "header") return;
  assert.deepEqual(read.header, header);
  const rest = new Uint8Array(8);
  assert.equal(await read.stream.read(rest), 1);
  assert.equal(rest[0], 0x78);
  read.stream.close();
});
