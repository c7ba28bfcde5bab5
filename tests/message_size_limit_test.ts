import assert from "node:assert/strict";
import fc from "fast-check";
import { MessageSizeLimit } from "../src/websocket/message_size_limit.ts";
import { clientFrame, concat, cutAt } from "./_websocket_frames.ts";

Deno.test("MessageSizeLimit passes messages up to the limit, in 7-, 16- and 64-bit lengths", () => {
  for (const size of [0, 125, 126, 65_535, 65_536, 70_000]) {
    const limit = new MessageSizeLimit(size);
    const frame = clientFrame("binary", size);
    assert.deepEqual(limit.scan(frame), { within: frame.length, over: false });
    assert.equal(limit.messages, 1);
  }
});

Deno.test("MessageSizeLimit stops at the header of a frame one byte over, whatever its length's form", () => {
  for (const size of [0, 124, 125, 65_535, 65_536]) {
    const limit = new MessageSizeLimit(size);
    const fits = clientFrame("text", size);
    const over = clientFrame("text", size + 1, { headerOnly: true });
    assert.deepEqual(limit.scan(concat(fits, over)), {
      within: fits.length,
      over: true,
    });
    assert.equal(limit.messages, 1);
    // Once over, nothing more passes.
    assert.deepEqual(limit.scan(fits), { within: 0, over: true });
  }
});

Deno.test("MessageSizeLimit takes a 64-bit length of 4 GiB or more as over any limit", () => {
  const limit = new MessageSizeLimit(16 * 1024 * 1024);
  const header = clientFrame("binary", 2 ** 32, { headerOnly: true });
  assert.deepEqual(limit.scan(header), { within: 0, over: true });
});

Deno.test("MessageSizeLimit sums a message's fragments and skips control frames between them", () => {
  const limit = new MessageSizeLimit(10);
  const stream = concat(
    clientFrame("text", 6, { final: false }),
    clientFrame("ping", 100),
    clientFrame("continuation", 4),
    clientFrame("binary", 10),
    clientFrame("text", 6, { final: false }),
    clientFrame("pong", 125),
  );
  assert.deepEqual(limit.scan(stream), { within: stream.length, over: false });
  assert.equal(limit.messages, 2);
  const over = clientFrame("continuation", 5);
  assert.deepEqual(limit.scan(over), { within: 0, over: true });
  assert.equal(limit.messages, 2);
});

Deno.test("MessageSizeLimit finds the same messages and the same place to stop however the bytes are cut", () => {
  const frame = fc.record({
    opcode: fc.constantFrom(
      "text" as const,
      "binary" as const,
      "ping" as const,
    ),
    size: fc.oneof(fc.nat(130), fc.integer({ min: 65_530, max: 65_540 })),
    final: fc.boolean(),
  });
  fc.assert(
    fc.property(
      fc.array(frame, { maxLength: 6 }),
      fc.integer({ min: 1, max: 140_000 }),
      fc.array(fc.nat(400_000)),
      (frames, max, cuts) => {
        const encoded = frames.map(({ opcode, size, final }, i) =>
          clientFrame(
            // A fragment after one that was not final continues it.
            i > 0 && !frames[i - 1].final && opcode !== "ping"
              ? "continuation"
              : opcode,
            opcode === "ping" ? size % 126 : size,
            { final: opcode === "ping" || final },
          )
        );
        const whole = new MessageSizeLimit(max);
        const data = concat(...encoded);
        const expected = whole.scan(data);
        const pieces = cutAt(data, cuts.filter((cut) => cut < data.length));
        const cut = new MessageSizeLimit(max);
        let within = 0;
        let over = false;
        // A header cut in two is known over only in its second piece, once
        // its first has passed: the stop comes at that piece's start.
        let stopAt = 0;
        for (const piece of pieces) {
          const result = cut.scan(piece);
          if (result.over && !over) stopAt = within;
          within += result.within;
          over = result.over;
        }
        assert.equal(over, expected.over);
        assert.equal(
          within,
          over ? Math.max(expected.within, stopAt) : data.length,
        );
        assert.equal(cut.messages, whole.messages);
      },
    ),
    { numRuns: 200 },
  );
});
