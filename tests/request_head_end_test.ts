import assert from "node:assert/strict";
import fc from "fast-check";
import { FirstRequestHead } from "../src/http/request_head_end.ts";
import { bytes } from "./_echo_client.ts";
import { cutAt } from "./_websocket_frames.ts";

/** The bytes after the head once `chunks` are scanned. */
function bytesAfter(...chunks: (string | Uint8Array)[]): number | undefined {
  const head = new FirstRequestHead();
  for (const chunk of chunks) {
    head.scan(typeof chunk === "string" ? bytes(chunk) : chunk);
  }
  return head.bytesAfter;
}

Deno.test("FirstRequestHead ends the head at its first empty line, CR LF or bare LF, and counts what follows", () => {
  assert.equal(bytesAfter("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), 0);
  assert.equal(bytesAfter("GET / HTTP/1.1\nHost: a\n\n"), 0);
  assert.equal(bytesAfter("GET / HTTP/1.1\r\nHost: a\n\r\n"), 0);
  assert.equal(bytesAfter("GET / HTTP/1.1\nHost: a\r\n\n"), 0);
  assert.equal(bytesAfter("GET / HTTP/1.1\r\n\r\nbody\r\n\r\n"), 8);
  assert.equal(bytesAfter("GET / HTTP/1.1\r\n\r\n", "abc", "de"), 5);
});

Deno.test("FirstRequestHead has no end while the head has none", () => {
  assert.equal(bytesAfter("GET / HTTP/1.1\r\nHost: a\r\n"), undefined);
  assert.equal(bytesAfter("GET / HTTP/1.1\r\nHost: a\r\r\n"), undefined);
  assert.equal(bytesAfter("GET / HTTP/1.1\r\nHost: a\r\nx\r\n"), undefined);
  assert.equal(bytesAfter(""), undefined);
});

Deno.test("FirstRequestHead skips empty lines before the request line, as httparse does", () => {
  assert.equal(bytesAfter("\r\n\n\r\nGET / HTTP/1.1\r\n\r\nx"), 1);
  assert.equal(bytesAfter("\r\n", "\r\n"), undefined);
});

Deno.test("FirstRequestHead finds the same end however the bytes are cut", () => {
  fc.assert(
    fc.property(
      fc.constantFrom("\r\n", "\n"),
      fc.array(fc.stringMatching(/^[!-~][ -~]{0,30}$/), { maxLength: 5 }),
      fc.uint8Array({ maxLength: 40 }),
      fc.array(fc.nat(200)),
      (eol, lines, after, cuts) => {
        const head = bytes(["GET /ws HTTP/1.1", ...lines, "", ""].join(eol));
        const data = new Uint8Array(head.length + after.length);
        data.set(head);
        data.set(after, head.length);
        const pieces = cutAt(data, cuts.filter((cut) => cut < data.length));
        assert.equal(bytesAfter(...pieces), after.length);
      },
    ),
  );
});
