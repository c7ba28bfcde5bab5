import assert from "node:assert/strict";
import { Hono } from "hono";
import { discardBody } from "../src/http/discard_body.ts";

/** A body with no Content-Length, sent in chunks, as a chunked POST is. */
function chunked(...chunks: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return ReadableStream.from(chunks.map((chunk) => encoder.encode(chunk)));
}

/**
 * An app whose route discards the body first, as the service's `POST /die`
 * does, and records the request it was given.
 */
function appSeeing(seen: Request[]) {
  return new Hono().post(
    "/die",
    async (c, next) => {
      if (!await discardBody(c.req.raw, 8)) return c.text("too large", 413);
      await next();
    },
    (c) => {
      seen.push(c.req.raw);
      return c.text("bye bye");
    },
  );
}

Deno.test("discardBody() passes a chunked body within the limit on, with the request itself, not a copy", async () => {
  const seen: Request[] = [];
  const request = new Request("http://localhost/die", {
    method: "POST",
    body: chunked("1234", "5678"),
  });
  const response = await appSeeing(seen).fetch(request);
  assert.equal(await response.text(), "bye bye");
  // A re-created request would touch the served request's signal.
  assert.equal(seen[0], request);
  assert.equal(request.bodyUsed, true);
});

Deno.test("discardBody() answers 413 once a chunked body passes the limit, and cancels the rest", async () => {
  const seen: Request[] = [];
  let pulled = 0;
  const long = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (++pulled > 1_000) controller.close();
      else controller.enqueue(new Uint8Array(5));
    },
  });
  const response = await appSeeing(seen).request("/die", {
    method: "POST",
    body: long,
  });
  assert.equal(response.status, 413);
  assert.deepEqual(seen, []);
  assert.ok(pulled <= 3, `read ${pulled} chunks`);
  await response.body?.cancel();
});

Deno.test("discardBody() answers 400 to a body that cannot be read, such as a malformed chunked one", async () => {
  const seen: Request[] = [];
  const broken = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new Uint8Array(3));
      controller.error(new Error("invalid HTTP/1 request: Invalid"));
    },
  });
  const response = await appSeeing(seen).request("/die", {
    method: "POST",
    body: broken,
  });
  assert.equal(response.status, 400);
  assert.equal(await response.text(), "bad request body");
  assert.deepEqual(seen, []);
});

Deno.test("discardBody() answers 413 from a Content-Length over the limit without reading the body", async () => {
  const seen: Request[] = [];
  const request = new Request("http://localhost/die", {
    method: "POST",
    headers: { "content-length": "9" },
    body: "123456789",
  });
  const response = await appSeeing(seen).fetch(request);
  assert.equal(response.status, 413);
  assert.equal(request.bodyUsed, false);
  await request.body?.cancel();
  await response.body?.cancel();
});
