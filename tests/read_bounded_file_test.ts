import assert from "node:assert/strict";
import {
  FileRefusedError,
  readBoundedFile,
} from "../src/settings/read_bounded_file.ts";
import { makeTempDir, run, writeTextFile } from "./_temp_files.ts";
import { test } from "./_time_limit.ts";

const dir = await makeTempDir();
/** A FIFO that nothing ever writes to: opening it to read would wait for ever. */
const fifo = `${dir}/fifo`;
await run("mkfifo", [fifo]);

/** Rejects with a FileRefusedError whose message is `message`. */
async function assertRefused(path: string, maxBytes: number, message: string) {
  await assert.rejects(
    readBoundedFile(path, maxBytes),
    (error) => {
      assert.ok(error instanceof FileRefusedError, String(error));
      assert.equal(error.message, message);
      return true;
    },
  );
}

test(
  "readBoundedFile() refuses a device, a FIFO nobody writes to and a directory, without waiting",
  async () => {
    for (
      const [path, kind] of [
        ["/dev/zero", "a character device"],
        ["/dev/urandom", "a character device"],
        [fifo, "a FIFO"],
        [dir, "a directory"],
      ]
    ) {
      await assertRefused(path, 1024, `is not a regular file but ${kind}`);
    }
  },
  2_000,
);

test("readBoundedFile() reads a file of exactly the bound, and refuses one byte more", async () => {
  const path = `${dir}/sized`;
  await writeTextFile(path, "x".repeat(100));
  assert.equal(await readBoundedFile(path, 100), "x".repeat(100));
  await assertRefused(path, 99, "is larger than 99 bytes");
  assert.equal(await readBoundedFile(path, 101), "x".repeat(100));
});

test("readBoundedFile() reads UTF-8 text, and an empty file", async () => {
  const path = `${dir}/text`;
  await writeTextFile(path, "héllo\n");
  assert.equal(await readBoundedFile(path, 7), "héllo\n");
  await writeTextFile(path, "");
  assert.equal(await readBoundedFile(path, 0), "");
});

test("readBoundedFile() passes on why a file cannot be opened", async () => {
  await assert.rejects(
    readBoundedFile(`${dir}/missing`, 10),
    Deno.errors.NotFound,
  );
});
