/**
 * Where the head of a connection's first HTTP request ends, found from the
 * client's bytes as they come, so that a protocol switch such as a WebSocket
 * upgrade knows that the bytes after it are the new protocol's from the
 * first. The head ends at its first empty line, after any empty lines before
 * the request line, with a line ending either CR LF or a bare LF, as the
 * parser inside `Deno.serve` (hyper's httparse) reads it.
 *
 * @module
 */

const CR = 0x0d;
const LF = 0x0a;

/**
 * Finds the end of the first request's head in the bytes fed to it, and
 * counts the bytes after it.
 *
 * @example
 * ```ts
 * import { FirstRequestHead } from "./request_head_end.ts";
 * import assert from "node:assert/strict";
 *
 * const head = new FirstRequestHead();
 * const bytes = (text: string) => new TextEncoder().encode(text);
 * head.scan(bytes("GET /ws HTTP/1.1\r\nHost: a\r\n"));
 * assert.equal(head.bytesAfter, undefined);
 * head.scan(bytes("\r\n"));
 * assert.equal(head.bytesAfter, 0);
 * head.scan(bytes("more"));
 * assert.equal(head.bytesAfter, 4);
 * ```
 */
export class FirstRequestHead {
  /** Whether the request line has begun: empty lines before it are skipped. */
  #begun = false;
  /** Bytes of a line ending seen: 0, LF (1), or LF then CR (2). */
  #ending = 0;
  #bytesAfter?: number;

  /**
   * The bytes that came after the head, or undefined while its end has not
   * come yet.
   */
  get bytesAfter(): number | undefined {
    return this.#bytesAfter;
  }

  /** Takes the next bytes from the client. */
  scan(data: Uint8Array): void {
    if (this.#bytesAfter !== undefined) {
      this.#bytesAfter += data.length;
      return;
    }
    let i = 0;
    while (!this.#begun && i < data.length) {
      if (data[i] !== CR && data[i] !== LF) this.#begun = true;
      else i++;
    }
    for (; i < data.length; i++) {
      const byte = data[i];
      if (byte === LF && this.#ending > 0) {
        this.#bytesAfter = data.length - i - 1;
        return;
      }
      this.#ending = byte === LF
        ? 1
        : byte === CR && this.#ending === 1
        ? 2
        : 0;
      // Within a line, go straight to its end.
      if (this.#ending === 0) {
        const next = data.indexOf(LF, i + 1);
        if (next === -1) return;
        i = next - 1;
      }
    }
  }
}
