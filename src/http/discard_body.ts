import type { Context, MiddlewareHandler } from "hono";
import { HTTPException } from "hono/http-exception";

/**
 * Middleware for a route that does not use the request body: it answers with
 * `onTooLarge` when the body is over `maxBytes`, and otherwise reads and
 * discards it before the route runs. A body that cannot be read, such as a
 * malformed chunked one, is the client's error: it throws an
 * `HTTPException` of 400, `bad request body`.
 *
 * Hono's `bodyLimit` does the same but, for a body with no Content-Length
 * (a chunked POST, or curl's `-X POST` with no data), it re-creates the
 * request. That touches the served request's `signal`, and Deno 2.9 then
 * prints a "legacy behavior" warning to stderr, in every build: the compiled
 * binary ignores `--unstable-no-legacy-abort`. This never re-creates the
 * request, so stderr holds only the service's own lines.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { discardBody } from "./discard_body.ts";
 * import assert from "node:assert/strict";
 *
 * const app = new Hono().post(
 *   "/die",
 *   discardBody(4, (c) => c.text("too large", 413)),
 *   (c) => c.text("bye bye"),
 * );
 * const small = await app.request("/die", { method: "POST", body: "1234" });
 * assert.equal(await small.text(), "bye bye");
 * const large = await app.request("/die", { method: "POST", body: "12345" });
 * assert.equal(large.status, 413);
 * ```
 */
export function discardBody(
  maxBytes: number,
  onTooLarge: (c: Context) => Response,
): MiddlewareHandler {
  return async (c, next) => {
    const { body, headers } = c.req.raw;
    if (body === null) return next();
    const length = headers.get("content-length");
    if (length !== null && !headers.has("transfer-encoding")) {
      if (Number(length) > maxBytes) return onTooLarge(c);
    }
    let bytes = 0;
    try {
      for await (const chunk of body) {
        bytes += chunk.length;
        // Leaving the loop early cancels the rest of the body.
        if (bytes > maxBytes) return onTooLarge(c);
      }
    } catch {
      // Deno says "invalid HTTP/1 request" of a broken chunk.
      throw new HTTPException(400, { message: "bad request body" });
    }
    return next();
  };
}
