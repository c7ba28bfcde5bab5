/**
 * Raw HTTP/1.1 over one connection per request: requests built byte for
 * byte (so that they can be malformed on purpose) and replies read as far as
 * they go.
 *
 * @module
 */
import { type Endpoint, withConn, writeInBackground } from "./net.ts";
import { HOST, KiB } from "./settings.ts";

/** An HTTP reply, as much of it as was read. */
export interface HttpReply {
  /** The status code, or null if none came. */
  status: number | null;
  body: string;
  /** Whether the head and all the body it announced are in. */
  complete: boolean;
}

/** A request: its line, `Host`, `Connection: close`, `headers`, `body`. */
export function request(
  line: string,
  headers: string[] = [],
  body: Uint8Array = new Uint8Array(),
): Uint8Array {
  const head = [line, `Host: ${HOST}`, "Connection: close", ...headers, "", ""];
  return concat([new TextEncoder().encode(head.join("\r\n")), body]);
}

/**
 * Sends `bytes` to `endpoint` on a connection of its own and, while still
 * sending, reads the reply until it is complete or the server closes.
 */
export function httpExchange(
  endpoint: Endpoint,
  bytes: Uint8Array,
  limitMs: number,
): Promise<HttpReply> {
  return withConn(endpoint, limitMs, async (conn) => {
    const sending = writeInBackground(conn, bytes);
    const reply = await readReply(conn);
    conn.close();
    await sending;
    return reply;
  });
}

/** `GET path`; the body, or an error naming the status if it is not 200. */
export async function get(
  endpoint: Endpoint,
  path: string,
  limitMs: number,
): Promise<string> {
  const reply = await httpExchange(
    endpoint,
    request(`GET ${path} HTTP/1.1`),
    limitMs,
  );
  if (reply.status !== 200 || !reply.complete) {
    const got = reply.status ?? "no status";
    throw new Error(`GET ${path}: ${got} ${reply.body.slice(0, 80)}`);
  }
  return reply.body;
}

/** Reads a reply until all its body is in or the server closes. */
async function readReply(conn: Deno.Conn): Promise<HttpReply> {
  const decoder = new TextDecoder();
  const buffer = new Uint8Array(16 * KiB);
  let text = "";
  for (let size; (size = await conn.read(buffer)) !== null;) {
    text += decoder.decode(buffer.subarray(0, size), { stream: true });
    const reply = parseReply(text);
    if (reply.complete) return reply;
  }
  return parseReply(text);
}

function parseReply(text: string): HttpReply {
  const status = text.match(/^HTTP\/1\.[01] (\d{3}) /)?.[1];
  const headEnd = text.indexOf("\r\n\r\n");
  const head = headEnd < 0 ? text : text.slice(0, headEnd);
  const body = headEnd < 0 ? "" : text.slice(headEnd + 4);
  const length = head.match(/^content-length: *(\d+)\r?$/im)?.[1];
  return {
    status: status === undefined ? null : Number(status),
    body,
    complete: headEnd >= 0 && length !== undefined &&
      body.length >= Number(length),
  };
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const all = new Uint8Array(chunks.reduce((sum, c) => sum + c.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    all.set(chunk, offset);
    offset += chunk.length;
  }
  return all;
}
