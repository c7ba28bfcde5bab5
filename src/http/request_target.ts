/**
 * `Deno.serve` builds `request.url` from the Host header and the
 * request-target, so a Host such as `x/die?` turns `GET /healthcheck` into
 * `http://x/die?/healthcheck`, and routing would follow the Host. A Host is
 * accepted only as `host[:port]`: a registered name of RFC 3986's unreserved
 * and sub-delimiter characters, or a bracketed IP literal, then digits.
 * Percent-encoding, valid in RFC 3986 but used by no real host name, is
 * refused too, since decoded it could hide a `/`. An absent or empty Host
 * (HTTP/1.0, HTTP/2) is fine: Deno then uses the target's own authority or
 * the listener's address.
 *
 * @module
 */

import { closingResponse, type Handler } from "./handler.ts";

const VALID_HOST =
  /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=]*)(?::\d*)?$/;

/**
 * The path of the request-target the client sent, or undefined when the Host
 * header is not a valid `host[:port]` and so `request.url` cannot say where
 * the path begins.
 *
 * @example
 * ```ts
 * import { requestPath } from "./request_target.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(requestPath(new Request("http://localhost:4001/healthcheck?x=1")), "/healthcheck");
 * const smuggled = new Request("http://x/die?/healthcheck", { headers: { host: "x/die?" } });
 * assert.equal(requestPath(smuggled), undefined);
 * ```
 */
export function requestPath(request: Request): string | undefined {
  return hasValidHost(request) ? urlPath(request.url) : undefined;
}

/**
 * The path of a URL: after "scheme://authority", which holds no "/", and up
 * to a "?" or "#". Of `request.url`, it is the request-target's path when
 * the Host header is valid.
 *
 * @example
 * ```ts
 * import { urlPath } from "./request_target.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(urlPath("http://[::1]:4001/metrics?x=/die#y"), "/metrics");
 * ```
 */
export function urlPath(url: string): string {
  const start = url.indexOf("/", url.indexOf("://") + 3);
  let end = start;
  while (end < url.length && url[end] !== "?" && url[end] !== "#") end++;
  return url.slice(start, end);
}

/**
 * Wraps a request handler so that a request whose Host header is not a valid
 * `host[:port]` gets `400 bad host header` with `Connection: close` before
 * anything routes it.
 *
 * @example
 * ```ts
 * import { refuseBadTarget } from "./request_target.ts";
 * import assert from "node:assert/strict";
 *
 * const handler = refuseBadTarget(() => new Response("ok computer"));
 * const smuggled = new Request("http://x/die?/healthcheck", { headers: { host: "x/die?" } });
 * assert.equal((await handler(smuggled)).status, 400);
 * ```
 */
export function refuseBadTarget<Args extends unknown[]>(
  handler: Handler<Args>,
): Handler<Args> {
  return (request, ...rest) =>
    hasValidHost(request)
      ? handler(request, ...rest)
      : closingResponse(400, "bad host header");
}

/** Whether the Host header, if any, is a valid `host[:port]`. */
function hasValidHost(request: Request): boolean {
  const host = request.headers.get("host");
  return host === null || VALID_HOST.test(host);
}
