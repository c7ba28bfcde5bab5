/**
 * A seeded pseudo-random generator, so that runs with the same seed repeat
 * in shape.
 *
 * @module
 */

/** mulberry32, with helpers for sizes, bytes and picks. */
export class Random {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** The next 32 random bits. */
  uint32(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** An integer from `min` to `max`, both included. */
  int(min: number, max: number): number {
    return min + Math.floor((this.uint32() / 2 ** 32) * (max - min + 1));
  }

  /** A size from 1 to `max`, spread evenly over the powers of two. */
  size(max: number): number {
    return Math.floor(2 ** ((this.uint32() / 2 ** 32) * Math.log2(max + 1)));
  }

  /** `length` random bytes. */
  bytes(length: number): Uint8Array {
    const words = new Uint32Array(Math.ceil(length / 4));
    for (let i = 0; i < words.length; i++) words[i] = this.uint32();
    return new Uint8Array(words.buffer, 0, length);
  }

  /** One of `items`. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)];
  }

  /** A generator of its own, seeded from this one. */
  fork(): Random {
    return new Random(this.uint32());
  }
}
