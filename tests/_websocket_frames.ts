import assert from "node:assert/strict";
import { readExactly } from "./_read.ts";

/**
 * WebSocket frames as a client sends them (RFC 6455, section 5.2): masked,
 * with a 7-bit, 16-bit or 64-bit payload length as the size needs.
 */

/** Opcodes by name. */
export const OPCODES = {
  continuation: 0x0,
  text: 0x1,
  binary: 0x2,
  close: 0x8,
  ping: 0x9,
  pong: 0xa,
} as const;

/**
 * One masked client frame of `payload`, final unless `final` is false; the
 * header alone when `headerOnly`, for payloads too large to make.
 */
export function clientFrame(
  opcode: keyof typeof OPCODES,
  payload: Uint8Array | number,
  options: { final?: boolean; headerOnly?: boolean } = {},
): Uint8Array {
  const size = typeof payload === "number" ? payload : payload.length;
  const lengthBytes = size < 126 ? 0 : size < 65_536 ? 2 : 8;
  const header = new Uint8Array(2 + lengthBytes + 4);
  header[0] = (options.final === false ? 0 : 0x80) | OPCODES[opcode];
  const view = new DataView(header.buffer);
  if (lengthBytes === 0) header[1] = 0x80 | size;
  else if (lengthBytes === 2) {
    header[1] = 0x80 | 126;
    view.setUint16(2, size);
  } else {
    header[1] = 0x80 | 127;
    view.setBigUint64(2, BigInt(size));
  }
  const mask = Uint8Array.of(1, 2, 3, 4);
  header.set(mask, 2 + lengthBytes);
  if (options.headerOnly) return header;
  const bytes = typeof payload === "number" ? new Uint8Array(size) : payload;
  const frame = new Uint8Array(header.length + size);
  frame.set(header);
  for (let i = 0; i < size; i++) {
    frame[header.length + i] = bytes[i] ^ mask[i % 4];
  }
  return frame;
}

/** `parts` end to end. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  const all = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    all.set(part, offset);
    offset += part.length;
  }
  return all;
}

/** `data` cut at `cuts` (offsets, in any order): the pieces, in order. */
export function cutAt(data: Uint8Array, cuts: number[]): Uint8Array[] {
  const offsets = [...new Set([0, ...cuts, data.length])].sort((a, b) => a - b);
  return offsets.slice(1).map((end, i) => data.subarray(offsets[i], end));
}

/** The opening handshake a client sends for `GET /ws`. */
export const HANDSHAKE = "GET /ws HTTP/1.1\r\nHost: localhost\r\n" +
  "Upgrade: websocket\r\nConnection: Upgrade\r\n" +
  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
  "Sec-WebSocket-Version: 13\r\n\r\n";

/** Reads an HTTP response head, a byte at a time: its status and text. */
export async function readResponseHead(
  conn: Deno.Conn,
): Promise<{ status: number; head: string }> {
  const byte = new Uint8Array(1);
  let head = "";
  while (!head.endsWith("\r\n\r\n")) {
    if (await conn.read(byte) === null) {
      throw new Error(`connection closed after ${JSON.stringify(head)}`);
    }
    head += String.fromCharCode(byte[0]);
  }
  return { status: Number(head.split(" ")[1]), head };
}

/** A frame from the server: unmasked. */
export interface ServerFrame {
  opcode: number;
  payload: Uint8Array;
}

/** Reads one frame the server sent. */
export async function readServerFrame(conn: Deno.Conn): Promise<ServerFrame> {
  const [first, second] = await readExactly(conn, 2);
  let size = second & 0x7f;
  if (size === 126) {
    size = new DataView((await readExactly(conn, 2)).buffer).getUint16(0);
  } else if (size === 127) {
    size = Number(
      new DataView((await readExactly(conn, 8)).buffer).getBigUint64(0),
    );
  }
  return { opcode: first & 0x0f, payload: await readExactly(conn, size) };
}

/** The code and reason of a close frame's payload. */
export function closeCode(frame: ServerFrame): [number, string] {
  assert.equal(frame.opcode, OPCODES.close, `opcode ${frame.opcode}`);
  const view = new DataView(frame.payload.buffer);
  return [
    view.getUint16(0),
    new TextDecoder().decode(frame.payload.subarray(2)),
  ];
}
