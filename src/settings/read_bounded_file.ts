/** A file that {@linkcode readBoundedFile} will not read, and why. */
export class FileRefusedError extends Error {
  /** Its name in messages. */
  override name = "FileRefusedError";
}

/** What a file that is not a regular file is, by its `Deno.FileInfo`. */
const KINDS = [
  ["isDirectory", "a directory"],
  ["isFifo", "a FIFO"],
  ["isCharDevice", "a character device"],
  ["isBlockDevice", "a block device"],
  ["isSocket", "a socket"],
] as const;

/**
 * Reads the text of the regular file at `path`, if it holds at most
 * `maxBytes` bytes. A file that is not a regular file (a device such as
 * `/dev/zero`, a FIFO, a directory) or that holds more is refused with a
 * {@linkcode FileRefusedError}, whose message says why, as a phrase that
 * follows the file's name: "is larger than 65536 bytes".
 *
 * Nothing waits on the file: a FIFO would hold the open itself until a
 * writer came, so the path is looked at before it is opened, and the file
 * opened is looked at again in case it was replaced in between. The read
 * stops one byte past the bound, however much more the file holds.
 *
 * @throws {FileRefusedError} for a file that is not regular or too large
 * @throws what `Deno.stat`, `Deno.open` and reading throw, such as
 * `Deno.errors.NotFound` or a missing read permission
 *
 * @example
 * ```ts
 * import { FileRefusedError, readBoundedFile } from "./read_bounded_file.ts";
 * import assert from "node:assert/strict";
 *
 * await assert.rejects(
 *   readBoundedFile("/dev/zero", 64),
 *   new FileRefusedError("is not a regular file but a character device"),
 * );
 * ```
 */
export async function readBoundedFile(
  path: string,
  maxBytes: number,
): Promise<string> {
  checkRegular(await Deno.stat(path));
  using file = await Deno.open(path);
  checkRegular(await file.stat());
  const buffer = new Uint8Array(maxBytes + 1);
  let size = 0;
  while (size < buffer.length) {
    const read = await file.read(buffer.subarray(size));
    if (read === null) break;
    size += read;
  }
  if (size > maxBytes) {
    throw new FileRefusedError(`is larger than ${maxBytes} bytes`);
  }
  return new TextDecoder().decode(buffer.subarray(0, size));
}

function checkRegular(info: Deno.FileInfo): void {
  if (info.isFile) return;
  const kind = KINDS.find(([is]) => info[is])?.[1] ?? "another kind of file";
  throw new FileRefusedError(`is not a regular file but ${kind}`);
}
