/**
 * A request handler as `Deno.serve` and Hono's `app.fetch` take it, with
 * whatever else they pass after the request.
 */
export type Handler<Args extends unknown[]> = (
  request: Request,
  ...rest: Args
) => Response | Promise<Response>;

/**
 * A plain-text answer that also closes the connection: for a request the
 * service refuses before routing it.
 *
 * @example
 * ```ts
 * import { closingResponse } from "./handler.ts";
 * import assert from "node:assert/strict";
 *
 * const response = closingResponse(503, "shutting down");
 * assert.equal(response.headers.get("connection"), "close");
 * assert.equal(await response.text(), "shutting down");
 * ```
 */
export function closingResponse(status: number, text: string): Response {
  return new Response(text, {
    status,
    headers: {
      "content-type": "text/plain;charset=UTF-8",
      connection: "close",
    },
  });
}
