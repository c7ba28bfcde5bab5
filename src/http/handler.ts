/**
 * A request handler as `Deno.serve` and Hono's `app.fetch` take it, with
 * whatever else they pass after the request.
 */
export type Handler<Args extends unknown[]> = (
  request: Request,
  ...rest: Args
) => Response | Promise<Response>;

/** The responses made by {@linkcode closingResponse}. */
const closing = new WeakSet<Response>();

/**
 * A plain-text answer that also closes the connection: for a request the
 * service refuses before routing it. `Deno.serve` ignores a response's
 * `Connection` header, so the server that relays the connection closes it
 * (see {@linkcode closesConnection}).
 *
 * @example
 * ```ts
 * import { closesConnection, closingResponse } from "./handler.ts";
 * import assert from "node:assert/strict";
 *
 * const response = closingResponse(503, "shutting down");
 * assert.equal(response.headers.get("connection"), "close");
 * assert.equal(await response.text(), "shutting down");
 * assert.equal(closesConnection(response), true);
 * assert.equal(closesConnection(new Response("ok")), false);
 * ```
 */
export function closingResponse(status: number, text: string): Response {
  const response = new Response(text, {
    status,
    headers: {
      "content-type": "text/plain;charset=UTF-8",
      connection: "close",
    },
  });
  closing.add(response);
  return response;
}

/** Whether `response` was made by {@linkcode closingResponse}. */
export function closesConnection(response: Response): boolean {
  return closing.has(response);
}
