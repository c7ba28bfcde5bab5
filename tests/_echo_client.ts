import assert from "node:assert/strict";
import { type Readable, readExactly } from "./_read.ts";

/** A stream a test writes to and reads from: a `Deno.Conn`, an in-memory stream. */
export interface Duplex extends Readable {
  write(data: Uint8Array): Promise<number>;
}

/** The UTF-8 bytes of `text`. */
export function bytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** Connects to a loopback TCP port, or to the address a listener is bound to. */
export function connect(to: number | Deno.NetAddr): Promise<Deno.TcpConn> {
  const { hostname, port } = typeof to === "number"
    ? { hostname: "127.0.0.1", port: to }
    : to;
  return Deno.connect({ hostname, port });
}

/** Writes all of `data`, however many writes it takes. */
export async function writeAll(
  stream: Duplex,
  data: Uint8Array,
): Promise<void> {
  for (let written = 0; written < data.length;) {
    written += await stream.write(data.subarray(written));
  }
}

/**
 * Sends `data` and asserts that exactly it comes back, reading while it
 * writes so that data larger than the buffers between the two cannot stall.
 */
export async function assertEchoes(
  stream: Duplex,
  data: string | Uint8Array,
): Promise<void> {
  const sent = typeof data === "string" ? bytes(data) : data;
  const [echoed] = await Promise.all([
    readExactly(stream, sent.length),
    writeAll(stream, sent),
  ]);
  assert.deepEqual(echoed, sent);
}
