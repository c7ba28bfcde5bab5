import type { EchoStream } from "../src/echo/echo_stream.ts";

/** One end of an in-memory connection, with what a test needs beyond {@linkcode EchoStream}. */
export interface MemoryStream extends EchoStream {
  /** Ends this side's sending, like `shutdown(SHUT_WR)`: the peer reads the rest, then EOF. */
  closeWrite(): void;
  /** Fails the peer's pending and next read with `error`, like a TCP reset. */
  reset(error?: Error): void;
}

/** Options for {@linkcode memoryStreamPair}. */
export interface MemoryStreamOptions {
  /**
   * With no buffering at all, a write settles only once the peer has read all
   * of it, like Trio's lockstep stream pair.
   * @default false
   */
  lockstep?: boolean;
}

/**
 * A connected pair of in-memory streams: what one writes, the other reads.
 * Closing one end ends both directions, as closing a socket does.
 */
export function memoryStreamPair(
  options: MemoryStreamOptions = {},
): [MemoryStream, MemoryStream] {
  const toRight = new Pipe(options.lockstep ?? false);
  const toLeft = new Pipe(options.lockstep ?? false);
  return [end(toLeft, toRight), end(toRight, toLeft)];
}

function end(incoming: Pipe, outgoing: Pipe): MemoryStream {
  return {
    read: (buffer) => incoming.read(buffer),
    write: (data) => outgoing.write(data),
    close() {
      outgoing.end();
      incoming.discard();
    },
    closeWrite: () => outgoing.end(),
    reset: (error = new Deno.errors.ConnectionReset("connection reset")) =>
      outgoing.fail(error),
  };
}

interface Chunk {
  data: Uint8Array;
  /** Settled once the reader has taken all of `data` (lockstep only). */
  consumed?: PromiseWithResolvers<void>;
}

/** One direction of an in-memory connection. */
class Pipe {
  #chunks: Chunk[] = [];
  #ended = false;
  #error?: Error;
  #wakeReader?: () => void;
  #lockstep: boolean;

  constructor(lockstep: boolean) {
    this.#lockstep = lockstep;
  }

  async write(data: Uint8Array): Promise<number> {
    if (this.#ended) throw new Deno.errors.BrokenPipe("stream closed");
    const consumed = this.#lockstep ? Promise.withResolvers<void>() : undefined;
    this.#chunks.push({ data: data.slice(), consumed });
    this.#wake();
    await consumed?.promise;
    return data.length;
  }

  async read(buffer: Uint8Array): Promise<number | null> {
    while (this.#chunks.length === 0 && !this.#ended && !this.#error) {
      const woken = Promise.withResolvers<void>();
      this.#wakeReader = woken.resolve;
      await woken.promise;
    }
    if (this.#error) throw this.#error;
    const chunk = this.#chunks[0];
    if (chunk === undefined) return null;
    const size = Math.min(buffer.length, chunk.data.length);
    buffer.set(chunk.data.subarray(0, size));
    chunk.data = chunk.data.subarray(size);
    if (chunk.data.length === 0) {
      this.#chunks.shift();
      chunk.consumed?.resolve();
    }
    return size;
  }

  /** No more writes: the reader gets what is buffered, then EOF; a lockstep write still waiting fails. */
  end(): void {
    this.#drop((chunk) => chunk.consumed !== undefined);
    this.#ended = true;
    this.#wake();
  }

  /** The reader is gone: all unread data is dropped. */
  discard(): void {
    this.#drop(() => true);
    this.end();
  }

  fail(error: Error): void {
    this.#error = error;
    this.#wake();
  }

  #drop(which: (chunk: Chunk) => boolean): void {
    for (const chunk of this.#chunks.filter(which)) {
      chunk.consumed?.reject(new Deno.errors.BrokenPipe("stream closed"));
    }
    this.#chunks = this.#chunks.filter((chunk) => !which(chunk));
  }

  #wake(): void {
    this.#wakeReader?.();
    this.#wakeReader = undefined;
  }
}
