import { HTTPException } from "hono/http-exception";

/**
 * Reads and throws away `request`'s body, for a route that does not use it:
 * false, with the rest of the body left unread, once it is over `maxBytes`,
 * and true otherwise. A body that cannot be read, such as a malformed
 * chunked one, is the client's error: it throws an `HTTPException` of 400,
 * `bad request body`, which the app answers as such.
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
 * import { discardBody } from "./discard_body.ts";
 * import assert from "node:assert/strict";
 *
 * const post = (body: string) => new Request("http://localhost/die", { method: "POST", body });
 * assert.equal(await discardBody(post("1234"), 4), true);
 * assert.equal(await discardBody(post("12345"), 4), false);
 * ```
 */
export async function discardBody(
  request: Request,
  maxBytes: number,
): Promise<boolean> {
  const { body, headers } = request;
  if (body === null) return true;
  const length = headers.get("content-length");
  if (length !== null && !headers.has("transfer-encoding")) {
    if (Number(length) > maxBytes) return false;
  }
  let bytes = 0;
  try {
    for await (const chunk of body) {
      bytes += chunk.length;
      // Leaving the loop early cancels the rest of the body.
      if (bytes > maxBytes) return false;
    }
  } catch {
    // Deno says "invalid HTTP/1 request" of a broken chunk.
    throw new HTTPException(400, { message: "bad request body" });
  }
  return true;
}
