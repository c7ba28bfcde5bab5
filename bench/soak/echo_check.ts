/**
 * Checks an echo byte for byte against what was sent.
 *
 * @module
 */

/** Checks an echo, byte for byte, against what was sent and not yet seen. */
export class EchoCheck {
  readonly #unseen: Uint8Array[] = [];
  /** How much of `#unseen[0]` has come back. */
  #offset = 0;
  #sent = 0;
  #verified = 0;
  #sendingDone = false;

  /** Notes a chunk as sent; call before writing it. */
  sent(chunk: Uint8Array): void {
    this.#unseen.push(chunk);
    this.#sent += chunk.length;
  }

  /** Notes that nothing more will be sent. */
  sendingDone(): void {
    this.#sendingDone = true;
  }

  /** Checks bytes received; throws if they are not the next ones sent. */
  received(data: Uint8Array): void {
    for (let at = 0; at < data.length;) {
      const chunk = this.#unseen[0];
      if (chunk === undefined) {
        throw new Error(`echo has more than the ${this.#sent} bytes sent`);
      }
      const size = Math.min(chunk.length - this.#offset, data.length - at);
      const expected = chunk.subarray(this.#offset, this.#offset + size);
      const mismatch = firstDifference(expected, data.subarray(at, at + size));
      if (mismatch >= 0) {
        throw new Error(`echoed byte ${this.#verified + mismatch} differs`);
      }
      at += size;
      this.#verified += size;
      this.#offset += size;
      if (this.#offset === chunk.length) {
        this.#unseen.shift();
        this.#offset = 0;
      }
    }
  }

  /** At the end of the echo: the bytes verified; throws if any are missing. */
  ended(): number {
    if (!this.#sendingDone) {
      throw new Error(`echo ended after ${this.#verified} bytes, mid-send`);
    }
    if (this.#verified < this.#sent) {
      throw new Error(`echo ended at ${this.#verified} of ${this.#sent} bytes`);
    }
    return this.#verified;
  }
}

function firstDifference(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}
