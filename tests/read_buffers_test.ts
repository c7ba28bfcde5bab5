import assert from "node:assert/strict";
import { ReadBuffer, ReadBufferPool } from "../src/net/read_buffers.ts";

/**
 * The sizes a connection reads into, after reads of these sizes, on a buffer
 * of its own of `ownSize` (the default when not given).
 */
function sizesAfter(reads: number[], ownSize?: number): number[] {
  using buffer = new ReadBuffer(new ReadBufferPool(), ownSize);
  const sizes = [buffer.current.length];
  for (const size of reads) {
    buffer.afterRead(size);
    sizes.push(buffer.current.length);
  }
  return sizes;
}

Deno.test("ReadBuffer starts at 64 bytes unless given a size, and goes to 1 KiB, then 64 KiB, only while reads fill them", () => {
  assert.deepEqual(
    sizesAfter([63, 64, 1023, 64, 1024, 65_536, 65_536]),
    [64, 64, 1024, 64, 1024, 65_536, 65_536, 65_536],
  );
});

Deno.test("ReadBuffer starts on the size of its own it is given, 512 bytes, and goes to 1 KiB, then 64 KiB, only while reads fill them", () => {
  assert.deepEqual(
    sizesAfter([511, 512, 1023, 512, 1024, 65_536, 100], 512),
    [512, 512, 1024, 512, 1024, 65_536, 65_536, 512],
  );
  using buffer = new ReadBuffer(new ReadBufferPool(), 512);
  const own = buffer.current;
  buffer.afterRead(512);
  buffer.afterRead(1);
  assert.equal(buffer.current, own);
});

Deno.test("ReadBuffer goes back to its own 64 bytes after any short read", () => {
  assert.deepEqual(sizesAfter([64, 1024, 65_535]), [64, 1024, 65_536, 64]);
  assert.deepEqual(sizesAfter([64, 1024, 1]), [64, 1024, 65_536, 64]);
  assert.deepEqual(sizesAfter([64, 1]), [64, 1024, 64]);
  using buffer = new ReadBuffer(new ReadBufferPool());
  const own = buffer.current;
  buffer.afterRead(64);
  buffer.afterRead(1);
  assert.equal(buffer.current, own);
});

Deno.test("ReadBuffer gives a borrowed buffer back on a short read and when disposed", () => {
  const pool = new ReadBufferPool();
  const borrowed = new Set<Uint8Array>();
  {
    using buffer = new ReadBuffer(pool);
    buffer.afterRead(64);
    borrowed.add(buffer.current);
    buffer.afterRead(1024);
    borrowed.add(buffer.current);
    buffer.afterRead(100); // the 64 KiB goes back
    buffer.afterRead(64); // takes the 1 KiB it gave back
    assert.ok(borrowed.has(buffer.current));
  } // the 1 KiB goes back
  assert.ok(borrowed.has(pool.take(1024)));
  assert.ok(borrowed.has(pool.take(65_536)));
});

Deno.test("ReadBufferPool keeps 1 MiB of free buffers of each size and drops the rest", () => {
  for (const [size, kept] of [[65_536, 16], [1024, 1024]]) {
    const pool = new ReadBufferPool();
    const given = Array.from({ length: kept + 1 }, () => new Uint8Array(size));
    for (const buffer of given) pool.give(buffer);
    const taken = Array.from({ length: kept + 1 }, () => pool.take(size));
    const back = taken.filter((buffer) => given.includes(buffer));
    assert.equal(back.length, kept, `of ${size} bytes`);
    assert.ok(taken.every((buffer) => buffer.length === size));
  }
});
