/**
 * A request handler as `Deno.serve` and Hono's `app.fetch` take it, with
 * whatever else they pass after the request.
 */
export type Handler<Args extends unknown[]> = (
  request: Request,
  ...rest: Args
) => Response | Promise<Response>;
