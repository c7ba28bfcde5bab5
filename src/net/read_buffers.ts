/**
 * The buffers a connection reads into (an echo client's, and each way of a
 * relay's), chosen so that an idle client costs the same however much it
 * sent before.
 *
 * A read that waits for the client holds its buffer until data arrives: Deno
 * reads straight into it, with no buffer of its own in between. So the read
 * that waits must be on a small buffer. Each connection owns one of the size
 * it is given: 64 bytes by default, which one short line to echo fits (a
 * relay's are larger, see `relay.ts`). A read that fills it says the client has
 * likely sent more, so the next read borrows a larger one from a pool the
 * server's connections share: 1 KiB, then 64 KiB, kept while reads fill it.
 * A read that comes back short says the client has sent nothing more for
 * now: the borrowed buffer goes back to the pool, and the next read, which
 * will likely wait, is on the connection's own buffer again.
 *
 * A stream of full reads keeps one buffer, and bursts reuse the buffers that
 * bursts before them gave back, so nothing is allocated per chunk. A client
 * whose last read filled its buffer exactly (64 bytes sent, on 64 of its own)
 * waits on the next size up, 1 KiB, until it sends again or leaves.
 *
 * @module
 */

/** The buffer a connection owns unless told otherwise: an echo client's. */
const DEFAULT_OWN_SIZE = 64;
/** What a connection borrows once its own buffer fills, then once that fills. */
const BORROWED_SIZES = [1024, 64 * 1024];
/** The free buffers a pool keeps of each size, in bytes; it drops the rest. */
const KEPT_BYTES = 1024 * 1024;

/**
 * The larger read buffers that a server's connections borrow in turn. A
 * buffer given back is kept for the next borrower, up to 1 MiB of free
 * buffers of each size (16 of 64 KiB), so that a burst reuses the buffers of
 * the bursts before it and many bursts at once leave no more than that
 * behind.
 *
 * @example
 * ```ts
 * import { ReadBufferPool } from "./read_buffers.ts";
 * import assert from "node:assert/strict";
 *
 * const pool = new ReadBufferPool();
 * const buffer = pool.take(1024);
 * pool.give(buffer);
 * assert.equal(pool.take(1024), buffer);
 * ```
 */
export class ReadBufferPool {
  readonly #free = new Map<number, Uint8Array<ArrayBuffer>[]>();

  /** A buffer of `size` bytes: the last one given back, or a new one. */
  take(size: number): Uint8Array<ArrayBuffer> {
    return this.#free.get(size)?.pop() ?? new Uint8Array(size);
  }

  /**
   * Takes back a buffer that no read or write uses any more, to lend again;
   * drops it if 1 MiB of its size is free already.
   */
  give(buffer: Uint8Array<ArrayBuffer>): void {
    let free = this.#free.get(buffer.length);
    if (free === undefined) this.#free.set(buffer.length, free = []);
    if ((free.length + 1) * buffer.length <= KEPT_BYTES) free.push(buffer);
  }
}

/**
 * Which buffer one connection reads into next: its own (64 bytes unless
 * given another size), or a larger one borrowed from the pool while the
 * client keeps filling them (see the module doc). Disposing of it gives a
 * borrowed buffer back; do so only once no read or write uses it.
 *
 * @example
 * ```ts
 * import { ReadBuffer, ReadBufferPool } from "./read_buffers.ts";
 * import assert from "node:assert/strict";
 *
 * using reads = new ReadBuffer(new ReadBufferPool());
 * assert.equal(reads.current.length, 64);
 * reads.afterRead(64); // full: the client has likely sent more
 * assert.equal(reads.current.length, 1024);
 * reads.afterRead(1024);
 * assert.equal(reads.current.length, 65_536);
 * reads.afterRead(65_536); // still full: keep it
 * assert.equal(reads.current.length, 65_536);
 * reads.afterRead(300); // short: back to the connection's own
 * assert.equal(reads.current.length, 64);
 *
 * using relayed = new ReadBuffer(new ReadBufferPool(), 512);
 * assert.equal(relayed.current.length, 512);
 * relayed.afterRead(512);
 * assert.equal(relayed.current.length, 1024);
 * ```
 */
export class ReadBuffer implements Disposable {
  readonly #pool: ReadBufferPool;
  readonly #own: Uint8Array<ArrayBuffer>;
  #current: Uint8Array<ArrayBuffer>;
  /** How many sizes up from its own the current buffer is: 0, 1 or 2. */
  #step = 0;

  /**
   * Starts on the connection's own buffer.
   *
   * @param pool where larger buffers are borrowed from
   * @param ownSize the size of the connection's own buffer, which every read
   * that waits holds (64 bytes by default); less than the 1 KiB it borrows
   * first
   */
  constructor(pool: ReadBufferPool, ownSize: number = DEFAULT_OWN_SIZE) {
    this.#pool = pool;
    this.#own = this.#current = new Uint8Array(ownSize);
  }

  /** The buffer for the next read. */
  get current(): Uint8Array<ArrayBuffer> {
    return this.#current;
  }

  /**
   * Picks the buffer for the next read, once the last read's `size` bytes
   * into {@linkcode current} have been written back.
   */
  afterRead(size: number): void {
    const full = size === this.#current.length;
    const step = full ? Math.min(this.#step + 1, BORROWED_SIZES.length) : 0;
    if (step === this.#step) return;
    this[Symbol.dispose]();
    if (step > 0) {
      this.#current = this.#pool.take(BORROWED_SIZES[step - 1]);
      this.#step = step;
    }
  }

  /** Gives a borrowed buffer back; the next read is on the connection's own. */
  [Symbol.dispose](): void {
    if (this.#step > 0) this.#pool.give(this.#current);
    this.#current = this.#own;
    this.#step = 0;
  }
}
