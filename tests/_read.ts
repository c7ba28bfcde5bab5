/** Anything with a `read` like `Deno.Conn`'s. */
export interface Readable {
  read(buffer: Uint8Array): Promise<number | null>;
}

/** Reads exactly `size` bytes; throws if the stream ends first. */
export async function readExactly(
  stream: Readable,
  size: number,
): Promise<Uint8Array> {
  const bytes = new Uint8Array(size);
  for (let offset = 0; offset < size;) {
    const read = await stream.read(bytes.subarray(offset));
    if (read === null) {
      throw new Error(`stream ended after ${offset} of ${size} bytes`);
    }
    offset += read;
  }
  return bytes;
}
