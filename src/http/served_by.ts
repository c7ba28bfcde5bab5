import type { Handler } from "./handler.ts";

/**
 * The header that names the instance that answered. `Server` names the
 * software (RFC 9110, 10.2.4), and balancers and meshes rewrite or drop it;
 * `Via` is for proxies on the way. `X-Served-By` is the name CDNs and
 * balancer tests already read for "which node answered".
 */
export const SERVED_BY_HEADER = "X-Served-By";

/**
 * Wraps a request handler so that every response it gives says
 * `X-Served-By: <name>`, whatever its status: probes, `/metrics`, 404 and
 * 405, and the 400 and 503 that wrappers inside it give. `name` must be a
 * valid header value (the config checks it).
 *
 * @example
 * ```ts
 * import { addServedBy } from "./served_by.ts";
 * import assert from "node:assert/strict";
 *
 * const handler = addServedBy("pod-a", () => new Response("not found", { status: 404 }));
 * const response = await handler(new Request("http://localhost/x"));
 * assert.equal(response.headers.get("x-served-by"), "pod-a");
 * ```
 */
export function addServedBy<Args extends unknown[]>(
  name: string,
  handler: Handler<Args>,
): Handler<Args> {
  const add = (response: Response) => {
    response.headers.set(SERVED_BY_HEADER, name);
    return response;
  };
  return (request, ...rest) => {
    // As countRequests does: a response made at once goes back at once.
    const response = handler(request, ...rest);
    return response instanceof Promise ? response.then(add) : add(response);
  };
}
