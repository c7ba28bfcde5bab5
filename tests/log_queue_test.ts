import assert from "node:assert/strict";
import { DROPPED_MESSAGE, LogQueue } from "../src/observability/log_queue.ts";
import { FakeTime } from "./_fake_time.ts";

const decoder = new TextDecoder();

/** Lets every promise job run, and with them a queue's first write. */
const nextTask = () => new Promise((resolve) => setTimeout(resolve, 0));

/**
 * A reader the test controls: each write waits until the test lets it
 * through, and then takes at most `chunkBytes` of what it was given.
 */
class ScriptedStderr {
  /** Each write call's bytes, as text, in order. */
  readonly calls: string[] = [];
  #pending: PromiseWithResolvers<void>[] = [];
  #open = false;

  constructor(readonly chunkBytes = Infinity) {}

  readonly write = async (bytes: Uint8Array): Promise<number> => {
    const taken = bytes.subarray(0, Math.min(bytes.length, this.chunkBytes));
    // Copied now: the queue may reuse its buffer once the write is done.
    this.calls.push(decoder.decode(taken));
    if (!this.#open) {
      const pending = Promise.withResolvers<void>();
      this.#pending.push(pending);
      await pending.promise;
    }
    return taken.length;
  };

  /** Everything written so far, as text. */
  get text(): string {
    return this.calls.join("");
  }

  /** Lets every write through, now and from now on. */
  read(): void {
    this.#open = true;
    for (const pending of this.#pending.splice(0)) pending.resolve();
  }
}

Deno.test("LogQueue writes nothing while the caller runs, then the lines of one task in one write", async () => {
  const stderr = new ScriptedStderr();
  stderr.read();
  const queue = new LogQueue({ write: stderr.write });
  queue.push("one");
  queue.push("two");
  assert.deepEqual(stderr.calls, []);
  assert.equal(await queue.flush(1_000), true);
  assert.deepEqual(stderr.calls, ["one\ntwo\n"]);
});

Deno.test("LogQueue keeps lines in order across batches, and finishes a write the reader takes in parts", async () => {
  const stderr = new ScriptedStderr(5);
  stderr.read();
  const queue = new LogQueue({ write: stderr.write });
  queue.push("first line");
  await nextTask();
  queue.push("second line");
  queue.push("é ü");
  assert.equal(await queue.flush(1_000), true);
  assert.equal(stderr.text, "first line\nsecond line\né ü\n");
  assert.ok(stderr.calls.length > 3, "written in parts");
});

/** Lets promise jobs and real I/O run, `turns` tasks over. */
async function tasks(turns: number): Promise<void> {
  for (let i = 0; i < turns; i++) await nextTask();
}

/** 256 KiB, the queue's size the README states. */
const QUEUE_BYTES = 262_144;

Deno.test("LogQueue holds 256 KiB of lines, newlines included, in the first write and behind it, and drops the next line", async () => {
  const stderr = new ScriptedStderr();
  const drops: number[] = [];
  const queue = new LogQueue({
    write: stderr.write,
    onDrop: (lines) => drops.push(lines),
    droppedLine: (count) => `dropped ${count}`,
  });
  // The first batch, pushed in one task: 262,143 bytes and a newline.
  queue.push("a".repeat(QUEUE_BYTES - 1));
  queue.push("");
  assert.deepEqual(drops, [1]);
  await nextTask();
  assert.equal(stderr.calls[0].length, QUEUE_BYTES);
  // Behind it, while the reader is stuck: as much again, and no more.
  queue.push("b".repeat(QUEUE_BYTES - 1));
  queue.push("");
  assert.deepEqual(drops, [1, 1]);
  stderr.read();
  assert.equal(await queue.flush(1_000), true);
  assert.equal(
    stderr.text,
    `${"a".repeat(QUEUE_BYTES - 1)}\n${"b".repeat(QUEUE_BYTES - 1)}\n` +
      "dropped 2\n",
  );
});

Deno.test("LogQueue drops a line that fits the queue only without its newline", async () => {
  const stderr = new ScriptedStderr();
  const drops: number[] = [];
  const queue = new LogQueue({
    write: stderr.write,
    onDrop: (lines) => drops.push(lines),
    droppedLine: () => "",
  });
  queue.push("x".repeat(QUEUE_BYTES));
  assert.deepEqual(drops, [1]);
  queue.push("in flight");
  await nextTask();
  queue.push("y".repeat(QUEUE_BYTES - 9));
  queue.push("z".repeat(8)); // 8 bytes left: no room for its newline
  assert.deepEqual(drops, [1, 1]);
  stderr.read();
  assert.equal(await queue.flush(1_000), true);
  assert.equal(stderr.text, `in flight\n${"y".repeat(QUEUE_BYTES - 9)}\n\n`);
});

Deno.test("LogQueue writes the lines pushed while a write is in flight in the next write, as one batch, with no flush", async () => {
  const stderr = new ScriptedStderr();
  const queue = new LogQueue({ write: stderr.write });
  queue.push("first");
  await nextTask();
  queue.push("second");
  queue.push("third");
  stderr.read();
  await tasks(10);
  assert.deepEqual(stderr.calls, ["first\n", "second\nthird\n"]);
});

Deno.test("LogQueue.flush() also writes the lines pushed while a write is pending, when that write fails", async () => {
  const written: string[] = [];
  const first = Promise.withResolvers<number>();
  const queue = new LogQueue({
    write: (bytes) => {
      if (written.push(decoder.decode(bytes)) === 1) return first.promise;
      return Promise.resolve(bytes.length);
    },
    droppedLine: (count) => `dropped ${count}`,
  });
  queue.push("lost");
  await nextTask();
  queue.push("pushed while pending");
  const flushed = queue.flush(1_000);
  first.reject(new Deno.errors.BrokenPipe());
  assert.equal(await flushed, true);
  assert.deepEqual(written, [
    "lost\n",
    "pushed while pending\n",
    "dropped 1\n",
  ]);
});

Deno.test("LogQueue, full while the reader is stuck, drops whole new lines, counts them, and reports them once the reader catches up", async () => {
  const stderr = new ScriptedStderr();
  const drops: number[] = [];
  const queue = new LogQueue({
    capacityBytes: 20,
    write: stderr.write,
    onDrop: (lines) => drops.push(lines),
    droppedLine: (count) => `dropped ${count}`,
  });
  queue.push("in flight"); // the write the reader has not finished
  await nextTask();
  assert.deepEqual(stderr.calls, ["in flight\n"]);
  for (const line of ["aaaaaaaa", "bbbbbbbb", "cccc", "dddddddddddddddddddd"]) {
    queue.push(line);
  }
  // 9 + 9 bytes fit in 20; "cccc\n" would be cut, so it is dropped, and a
  // line longer than the whole queue never fits.
  assert.deepEqual(drops, [1, 1]);
  stderr.read();
  assert.equal(await queue.flush(1_000), true);
  assert.equal(stderr.text, "in flight\naaaaaaaa\nbbbbbbbb\ndropped 2\n");

  queue.push("after");
  assert.equal(await queue.flush(1_000), true);
  assert.equal(
    stderr.text.split("\n").filter((l) => l.startsWith("dropped")).length,
    1,
  );
  assert.ok(stderr.text.endsWith("dropped 2\nafter\n"));
});

Deno.test("LogQueue reports drops by default as a text warning", async () => {
  const stderr = new ScriptedStderr();
  const queue = new LogQueue({ capacityBytes: 100, write: stderr.write });
  queue.push("stuck");
  await nextTask();
  queue.push("x".repeat(101));
  stderr.read();
  assert.equal(await queue.flush(1_000), true);
  assert.equal(stderr.text, `stuck\nwarning: ${DROPPED_MESSAGE} count=1\n`);
});

Deno.test("LogQueue.flush() gives up at its time limit when the reader never reads", async () => {
  using time = new FakeTime(0);
  const stderr = new ScriptedStderr();
  const queue = new LogQueue({ write: stderr.write });
  queue.push("never read");
  let settledAt: number | undefined;
  const flushed = queue.flush(1_000).finally(() => settledAt = time.now);
  await time.tickAsync(999);
  assert.equal(settledAt, undefined);
  await time.tickAsync(1);
  assert.equal(await flushed, false);
  assert.equal(settledAt, 1_000);
  stderr.read(); // let the pending write end, for the sanitizers
  assert.equal(await queue.flush(1_000), true);
});

Deno.test("LogQueue, when a write fails, counts its lines as dropped and writes again on the next push", async () => {
  const written: string[] = [];
  const drops: number[] = [];
  let broken = true;
  const queue = new LogQueue({
    write: (bytes) => {
      if (broken) return Promise.reject(new Deno.errors.BrokenPipe());
      written.push(decoder.decode(bytes));
      return Promise.resolve(bytes.length);
    },
    onDrop: (lines) => drops.push(lines),
    droppedLine: (count) => `dropped ${count}`,
  });
  queue.push("lost 1");
  queue.push("lost 2");
  assert.equal(await queue.flush(1_000), true);
  assert.deepEqual(drops, [2]);
  broken = false;
  queue.push("kept");
  assert.equal(await queue.flush(1_000), true);
  assert.deepEqual(written, ["kept\n", "dropped 2\n"]);
});

Deno.test("LogQueue drops, never cuts, a line whose last character does not fit", async () => {
  const stderr = new ScriptedStderr();
  const drops: number[] = [];
  const queue = new LogQueue({
    capacityBytes: 5,
    write: stderr.write,
    onDrop: (lines) => drops.push(lines),
    droppedLine: () => "",
  });
  queue.push("x");
  await nextTask();
  queue.push("ab"); // 3 of 5 bytes
  queue.push("aé"); // "a" fits in the 2 left, "é" and the newline do not
  assert.deepEqual(drops, [1]);
  stderr.read();
  assert.equal(await queue.flush(1_000), true);
  assert.equal(stderr.text, "x\nab\n\n");
});
