import { isBroken } from "../net/broken_connection.ts";
import type { EchoResult, EchoStream } from "./echo_stream.ts";
import { Deadlines } from "../waiting/deadlines.ts";
import { parseProxyHeader, type ProxyHeader } from "./proxy_protocol.ts";
import { StreamEnding } from "./stream_ending.ts";

/** What {@linkcode readProxyHeader} needs besides the stream. */
export interface ReadProxyHeaderOptions {
  /** Milliseconds from now within which the whole header must arrive. */
  timeoutMs: number;
  /** Aborting it closes the stream, as `handleEchoConnection`'s does. */
  signal?: AbortSignal;
  /**
   * The set the header's deadline joins: share the echo connections' one.
   * @default a set of its own
   */
  deadlines?: Deadlines;
}

/** What {@linkcode readProxyHeader} found at the start of a stream. */
export type ProxyHeaderRead =
  /** A header; `stream` reads the bytes that followed it first. */
  | { kind: "header"; header: ProxyHeader; stream: EchoStream }
  /** No header: the stream is closed, and `result` says why, as an echo's would. */
  | { kind: "ended"; result: EchoResult };

/** Why a connection had no valid PROXY protocol header. */
export class ProxyHeaderError extends Error {
  /** Its name in messages and logs. */
  override name = "ProxyHeaderError";
}

/** The first read buffer: a v1 line and most v2 headers fit in it. */
const FIRST_READ_SIZE = 512;

/**
 * Reads a PROXY protocol header, v1 or v2, from the start of `stream`.
 * Nothing is written to the stream. Bytes that cannot begin a header, a
 * header over `MAX_PROXY_HEADER_BYTES` (4 KiB), the end of the stream
 * before a whole header, or no whole header within `timeoutMs`, close the
 * stream at once and end it as `proxy_header`, with a
 * {@linkcode ProxyHeaderError} saying which; an abort ends it as `shutdown`,
 * and a stream error as `reset` or `error`.
 *
 * @example
 * ```ts
 * import { readProxyHeader } from "./read_proxy_header.ts";
 * import assert from "node:assert/strict";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const client = await Deno.connect({ port: listener.addr.port });
 * await client.write(new TextEncoder().encode(
 *   "PROXY TCP6 2001:db8::7 2001:db8::1 50312 4000\r\nhi",
 * ));
 * const read = await readProxyHeader(await listener.accept(), { timeoutMs: 5_000 });
 * assert.equal(read.kind, "header");
 * if (read.kind === "header") {
 *   assert.deepEqual(read.header.source, { hostname: "2001:db8::7", port: 50312 });
 *   const rest = new Uint8Array(2);
 *   assert.equal(await read.stream.read(rest), 2);
 *   assert.equal(new TextDecoder().decode(rest), "hi");
 *   read.stream.close();
 * }
 * client.close();
 * listener.close();
 * ```
 */
export async function readProxyHeader(
  stream: EchoStream,
  options: ReadProxyHeaderOptions,
): Promise<ProxyHeaderRead> {
  const { timeoutMs, signal, deadlines = new Deadlines() } = options;
  using ending = new StreamEnding(stream, {
    deadlines,
    timeoutMs,
    onDeadline: (ending) =>
      noHeader(ending, `no PROXY protocol header within ${timeoutMs} ms`),
    signal,
  });

  try {
    let buffer = new Uint8Array(FIRST_READ_SIZE);
    let received = 0;
    while (!ending.ended) {
      if (received === buffer.length) buffer = grown(buffer);
      const size = await stream.read(buffer.subarray(received));
      if (size === null) {
        noHeader(ending, "closed before a whole PROXY protocol header");
        continue;
      }
      received += size;
      const parsed = parseProxyHeader(buffer.subarray(0, received));
      if (parsed.kind === "invalid") noHeader(ending, parsed.problem);
      if (parsed.kind !== "complete") continue;
      const rest = buffer.slice(parsed.length, received);
      const { header } = parsed;
      return { kind: "header", header, stream: withFirst(stream, rest) };
    }
  } catch (error) {
    ending.end(isBroken(error) ? "reset" : "error", error);
  }
  return { kind: "ended", result: ending.result(0) };
}

/** Ends the stream for want of a valid header, saying what was wrong. */
function noHeader(ending: StreamEnding, problem: string): void {
  ending.end("proxy_header", new ProxyHeaderError(problem));
}

/** A buffer twice the size with the same bytes; the parser keeps it within the limit. */
function grown(buffer: Uint8Array): Uint8Array<ArrayBuffer> {
  const larger = new Uint8Array(2 * buffer.length);
  larger.set(buffer);
  return larger;
}

/** `stream`, but its reads return `first` before anything more is read. */
function withFirst(stream: EchoStream, first: Uint8Array): EchoStream {
  if (first.length === 0) return stream;
  let pending = first;
  return {
    read(buffer) {
      if (pending.length === 0) return stream.read(buffer);
      const size = Math.min(buffer.length, pending.length);
      buffer.set(pending.subarray(0, size));
      pending = pending.subarray(size);
      return Promise.resolve(size);
    },
    write: (data) => stream.write(data),
    close: () => stream.close(),
  };
}
