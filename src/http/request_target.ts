/**
 * The service routes on the request-target exactly as the client sent it,
 * and only on one in plain form, so that a proxy's rule on the path (such as
 * HAProxy's `path_beg /die`) sees the route the service takes.
 *
 * `Deno.serve` builds `request.url` from the Host header and the
 * request-target as sent, with no normalising: `/%64ie`, `//die`, `/./die`
 * and `/a/../die` all reach the handler as they are. Hono then routes on the
 * percent-decoded path, so `/%64ie` would be `/die`. And a Host such as
 * `x/die?` turns `GET /healthcheck` into `http://x/die?/healthcheck`, so
 * routing would follow the Host. An absolute-form target (`http://h/die`)
 * becomes the URL itself, authority and all.
 *
 * So a request is routed only when:
 *
 * - its Host header, if any, is `host[:port]`: a registered name of RFC
 *   3986's unreserved and sub-delimiter characters, or a bracketed IP
 *   literal, then digits. Percent-encoding, valid in RFC 3986 but used by no
 *   real host name, is refused too, since decoded it could hide a `/`. An
 *   absent or empty Host (HTTP/1.0, HTTP/2) is fine: Deno then uses the
 *   target's own authority or the listener's address;
 * - and its URL is `http` or `https`, such an authority, then a path in plain
 *   form: `/`, or segments each of one or more of RFC 3986's path characters
 *   (letters, digits, `-._~!$&'()*+,;=:@`) that are not `.` or `..`: no
 *   percent-encoding of any kind, no empty segment (`//`, a trailing `/`), no
 *   dot segment, no `\`, no byte outside ASCII. A query may follow; a
 *   fragment (`#`), never valid in a request-target, may not.
 *
 * @module
 */

import { closingResponse, type Handler } from "./handler.ts";

/** `host[:port]`, as a Host header or a URL's authority holds it. */
const HOST = String
  .raw`(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=]*)(?::\d*)?`;

/** A path segment in plain form: not `.` or `..`, no percent-encoding. */
const SEGMENT = String.raw`(?!\.\.?(?:[/?]|$))[A-Za-z0-9\-._~!$&'()*+,;=:@]+`;

const VALID_HOST = new RegExp(`^${HOST}$`);

const PLAIN_URL = new RegExp(
  String.raw`^https?://${HOST}(?:/|(?:/${SEGMENT})+)(?:\?[^#]*)?$`,
);

/**
 * The path of the request-target the client sent, or undefined when the
 * request-target or the Host header is not in plain form, and so the service
 * would not route it.
 *
 * @example
 * ```ts
 * import { requestPath } from "./request_target.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(requestPath(new Request("http://localhost:4001/healthcheck?x=1")), "/healthcheck");
 * const smuggled = new Request("http://x/die?/healthcheck", { headers: { host: "x/die?" } });
 * assert.equal(requestPath(smuggled), undefined);
 * assert.equal(requestPath(new Request("http://localhost:4001/%64ie")), undefined);
 * ```
 */
export function requestPath(request: Request): string | undefined {
  return hasValidHost(request) && PLAIN_URL.test(request.url)
    ? urlPath(request.url)
    : undefined;
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
 * Wraps a request handler so that, before anything routes it, a request
 * whose Host header is not a valid `host[:port]` gets `400 bad host header`,
 * and one whose request-target is not in plain form `400 bad request target`
 * (see the module documentation), each a {@linkcode closingResponse}: its
 * connection is closed once it is sent, so nothing the client sent after it is
 * read.
 *
 * @example
 * ```ts
 * import { refuseBadTarget } from "./request_target.ts";
 * import assert from "node:assert/strict";
 *
 * const handler = refuseBadTarget(() => new Response("ok computer"));
 * const smuggled = new Request("http://x/die?/healthcheck", { headers: { host: "x/die?" } });
 * assert.equal(await (await handler(smuggled)).text(), "bad host header");
 * const encoded = await handler(new Request("http://localhost:4001/%64ie"));
 * assert.equal(await encoded.text(), "bad request target");
 * ```
 */
export function refuseBadTarget<Args extends unknown[]>(
  handler: Handler<Args>,
): Handler<Args> {
  return (request, ...rest) => {
    if (!hasValidHost(request)) {
      return closingResponse(400, "bad host header");
    }
    if (!PLAIN_URL.test(request.url)) {
      return closingResponse(400, "bad request target");
    }
    return handler(request, ...rest);
  };
}

/** Whether the Host header, if any, is a valid `host[:port]`. */
function hasValidHost(request: Request): boolean {
  const host = request.headers.get("host");
  return host === null || VALID_HOST.test(host);
}
