/**
 * A limit on the size of the messages a WebSocket client sends, kept on the
 * bytes as they come from the client, before the server inside reads them:
 * `Deno.upgradeWebSocket` has no size setting and reads a frame of up to
 * 64 MiB into memory before its handler sees it. Each frame's header (RFC
 * 6455, section 5.2) says how long its payload is, so a message that goes
 * over the limit is known at the header of the frame that takes it over,
 * before any of that frame's payload is read; payloads are skipped unread.
 *
 * @module
 */

/** Opcodes from this one up are control frames: close, ping and pong. */
const FIRST_CONTROL_OPCODE = 0x8;

/** What {@linkcode MessageSizeLimit.scan} found in a chunk. */
export interface ScanResult {
  /**
   * How many of the chunk's first bytes belong to messages within the limit:
   * all of them, or those before the header of the frame that went over.
   */
  within: number;
  /** Whether a message went over the limit, in this chunk or before. */
  over: boolean;
}

/**
 * Follows the frames of a client's WebSocket stream, fed in chunks of any
 * size, and finds the first data message whose payload, summed over its
 * frames, is longer than `maxBytes`. Control frames are not messages and do
 * not count. Once a message has gone over, nothing more is read.
 *
 * @example
 * ```ts
 * import { MessageSizeLimit } from "./message_size_limit.ts";
 * import assert from "node:assert/strict";
 *
 * const limit = new MessageSizeLimit(4);
 * // A masked text frame of 4 bytes, then the header of one of 5.
 * const fits = [0x81, 0x84, 1, 2, 3, 4, 0, 0, 0, 0];
 * const over = [0x81, 0x85, 1, 2, 3, 4];
 * assert.deepEqual(limit.scan(Uint8Array.from([...fits, ...over])), { within: 10, over: true });
 * assert.equal(limit.messages, 1);
 * ```
 */
export class MessageSizeLimit {
  readonly #maxBytes: number;
  /** The header being read, up to the 14 bytes a header can take. */
  #header = new Uint8Array(14);
  #headerSize = 0;
  /** Payload bytes of the current frame still to skip. */
  #payloadLeft = 0;
  /** Payload so far of the data message whose frames are coming. */
  #messageBytes = 0;
  #messages = 0;
  #over = false;

  /**
   * A limit before the first byte of the stream.
   *
   * @param maxBytes the longest payload a message may have
   */
  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /**
   * Data messages within the limit whose last frame has begun: once a
   * message has gone over, those that came before it.
   */
  get messages(): number {
    return this.#messages;
  }

  /** Takes the next bytes from the client. */
  scan(data: Uint8Array): ScanResult {
    if (this.#over) return { within: 0, over: true };
    let i = 0;
    while (i < data.length) {
      if (this.#payloadLeft > 0) {
        const skipped = Math.min(this.#payloadLeft, data.length - i);
        this.#payloadLeft -= skipped;
        i += skipped;
        continue;
      }
      const headerStart = i - this.#headerSize;
      this.#header[this.#headerSize++] = data[i++];
      const size = this.#headerLength();
      if (size === undefined || this.#headerSize < size) continue;
      if (!this.#frame()) {
        this.#over = true;
        return { within: Math.max(0, headerStart), over: true };
      }
    }
    return { within: data.length, over: false };
  }

  /** The length of the header read so far, once its first two bytes say. */
  #headerLength(): number | undefined {
    if (this.#headerSize < 2) return undefined;
    const length = this.#header[1] & 0x7f;
    const masked = (this.#header[1] & 0x80) !== 0;
    const extended = length === 126 ? 2 : length === 127 ? 8 : 0;
    return 2 + extended + (masked ? 4 : 0);
  }

  /**
   * Takes the whole header just read: whether its frame keeps its message
   * within the limit.
   */
  #frame(): boolean {
    const header = this.#header;
    this.#headerSize = 0;
    const final = (header[0] & 0x80) !== 0;
    const opcode = header[0] & 0x0f;
    const length = header[1] & 0x7f;
    const view = new DataView(header.buffer);
    const payload = length === 126 ? view.getUint16(2) : length === 127
      // Any of the high four bytes set is 4 GiB or more: over any limit.
      ? (view.getUint32(2) > 0 ? Infinity : view.getUint32(6))
      : length;
    if (opcode >= FIRST_CONTROL_OPCODE) {
      this.#payloadLeft = payload;
      return true;
    }
    this.#messageBytes += payload;
    if (this.#messageBytes > this.#maxBytes) return false;
    this.#payloadLeft = payload;
    if (final) {
      this.#messages++;
      this.#messageBytes = 0;
    }
    return true;
  }
}
