import { Hono } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import { HTTPException } from "hono/http-exception";
import { discardBody } from "./discard_body.ts";
import type { MetricsText } from "../observability/metrics_text.ts";
import type { Counter } from "../observability/plain_metrics.ts";
import type { UpgradableConnection } from "./connection_upgrade.ts";
import { closingResponse, type Handler } from "./handler.ts";
import { Readiness } from "./readiness.ts";
import { requestPath, urlPath } from "./request_target.ts";

/**
 * What the app needs from the server for each request: `Deno.serve` passes
 * its `Deno.ServeHandlerInfo`, which has it; tests pass their own.
 */
export interface HttpBindings {
  /** Settles once the response has been sent, or could not be. */
  completed: Promise<void>;
  /** The connection the request came on, which `GET /ws` upgrades. */
  connection?: UpgradableConnection;
}

/** What {@linkcode createHttpApp} needs. */
export interface HttpAppOptions {
  /** Called once the `POST /die` response has reached the client. */
  onDie: () => void;
  /** When set, `POST /die` needs `Authorization: Bearer <dieToken>`. */
  dieToken?: string;
  /** The metrics `GET /metrics` writes out. */
  metricsText: MetricsText;
  /**
   * Aborts when shutdown begins, which may be a while before the service
   * stops: from then on `GET /readyz` answers 503.
   */
  draining?: AbortSignal;
  /**
   * What `GET /readyz` answers from, and what `POST /readyz/fail` and
   * `POST /readyz/ok` switch.
   * @default a readiness of the app's own, draining with `draining`
   */
  readiness?: Readiness;
  /** Serves `GET /ws`, the WebSocket echo, given the request's connection. */
  webSocket?: (request: Request, connection?: UpgradableConnection) => Response;
}

/**
 * The HTTP side's routes, as Hono runs them: `fetch` answers a request as a
 * server hands it over, and `request` one made up in a test, with no
 * network.
 */
export interface HttpApp {
  /** Answers `request`; `env` is what the server tells of it. */
  fetch(request: Request, env?: HttpBindings): Response | Promise<Response>;
  /** Answers a request to `input`, a path or a URL, made with `init`. */
  request(
    input: string | URL | Request,
    init?: RequestInit,
    env?: HttpBindings,
  ): Response | Promise<Response>;
}

/** The methods each known path answers; any other method gets 405. */
const ALLOWED_METHODS: Readonly<Record<string, string>> = {
  "/healthcheck": "GET, HEAD",
  "/livez": "GET, HEAD",
  "/readyz": "GET, HEAD",
  "/metrics": "GET, HEAD",
  "/die": "POST",
  "/readyz/fail": "POST",
  "/readyz/ok": "POST",
  "/ws": "GET",
};

/** The routes that change the service: each needs the die token, when set. */
const GUARDED = ["/die", "/readyz/fail", "/readyz/ok"];

/** No route reads a body; a POST route refuses a larger one before reading it. */
const MAX_BODY_BYTES = 1024;

/**
 * The HTTP side of the service: `GET /healthcheck` answers `ok computer`,
 * `GET /livez` 200 while the process runs, `GET /readyz` 200 until shutdown
 * begins and 503 from then on, `GET /metrics` the metrics in the Prometheus
 * text format, `GET /ws` is `webSocket`'s, and `POST /die` answers `bye bye`
 * and then calls `onDie`. `POST /readyz/fail` turns `/readyz` to 503 and
 * `POST /readyz/ok` back to 200, unless shutdown has begun (then 409); they
 * stop nothing. The three POST routes need the die token, when there is one.
 * HEAD works wherever GET does. A known path with the wrong method gets 405
 * with an `Allow` header, anything else 404, and a POST with a body over
 * 1 KiB 413.
 *
 * The probes are routes with one handler and no middleware, which Hono runs
 * on its fast path.
 *
 * @example
 * ```ts
 * import { createHttpApp } from "./http_app.ts";
 * import { metricsText } from "../observability/metrics_text.ts";
 * import assert from "node:assert/strict";
 *
 * const app = createHttpApp({ onDie: () => {}, metricsText: metricsText([]) });
 * const response = await app.request("/healthcheck", {}, { completed: Promise.resolve() });
 * assert.equal(await response.text(), "ok computer");
 * ```
 */
export function createHttpApp(options: HttpAppOptions): HttpApp {
  const {
    onDie,
    dieToken,
    metricsText,
    draining,
    readiness = new Readiness({ draining }),
    webSocket,
  } = options;
  const app = new Hono<{ Bindings: HttpBindings }>()
    .get("/healthcheck", (c) => c.text("ok computer"))
    .get("/livez", (c) => c.text("ok"))
    .get(
      "/readyz",
      (c) =>
        readiness.draining
          ? c.text("shutting down", 503)
          : readiness.switchedOff
          ? c.text("switched off", 503)
          : c.text("ready"),
    )
    .get("/metrics", async (c) =>
      c.body(await metricsText.read(), 200, {
        "Content-Type": metricsText.contentType,
      }))
    .get(
      "/ws",
      (c) =>
        webSocket?.(c.req.raw, c.env.connection) ?? c.text("not found", 404),
    )
    .on("POST", GUARDED, async (c, next) => {
      if (!await discardBody(c.req.raw, MAX_BODY_BYTES)) {
        return c.text("request body too large", 413);
      }
      await next();
    });
  if (dieToken !== undefined) {
    app.on("POST", GUARDED, bearerAuth({ token: dieToken }));
  }
  return app
    .post("/die", (c) => {
      // Shut down only after "bye bye" is out, or could not be sent.
      c.env.completed.then(onDie, onDie);
      return c.text("bye bye");
    })
    .post("/readyz/fail", (c) => {
      readiness.switchOff();
      return c.text("switched off: /readyz answers 503");
    })
    .post("/readyz/ok", (c) => {
      readiness.switchOn();
      return readiness.draining
        ? c.text("shutting down: /readyz answers 503", 409)
        : c.text("switched on: /readyz answers 200");
    })
    // As Hono's default, but silent: stderr carries only the service's own
    // lines.
    .onError((error, c) =>
      error instanceof HTTPException
        ? error.getResponse()
        : c.text("internal server error", 500)
    )
    .notFound((c) => {
      const allow = ALLOWED_METHODS[c.req.path];
      return allow === undefined
        ? c.text("not found", 404)
        : c.text("method not allowed", 405, { Allow: allow });
    });
}

/**
 * Wraps a request handler so that once `signal` has aborted every request
 * gets 503 and its connection is closed: during shutdown a request arriving
 * on a connection still open is answered, not left hanging.
 *
 * @example
 * ```ts
 * import { refuseOnceAborted } from "./http_app.ts";
 * import assert from "node:assert/strict";
 *
 * const shutdown = new AbortController();
 * const handler = refuseOnceAborted(shutdown.signal, () => new Response("ok"));
 * shutdown.abort();
 * const response = await handler(new Request("http://localhost/"));
 * assert.equal(response.status, 503);
 * ```
 */
export function refuseOnceAborted<Args extends unknown[]>(
  signal: AbortSignal,
  handler: Handler<Args>,
): Handler<Args> {
  return (request, ...rest) =>
    signal.aborted
      ? closingResponse(503, "shutting down")
      : handler(request, ...rest);
}

/**
 * Wraps a request handler so that each request is counted in `counter` by
 * route and status, once answered. The route is the request-target's path
 * when the app knows it and `other` when not (or when a bad Host header or a
 * request-target not in plain form hides the path), so that clients cannot
 * make up labels. Put it around {@linkcode refuseBadTarget}: then only a
 * request answered 400 can have a bad target, and no other needs it judged
 * again.
 *
 * @example
 * ```ts
 * import { countRequests } from "./http_app.ts";
 * import { createHttpMetrics } from "./http_metrics.ts";
 * import assert from "node:assert/strict";
 *
 * const http = createHttpMetrics();
 * const handler = countRequests(http.requests, () => new Response("ok computer"));
 * await (await handler(new Request("http://localhost/healthcheck"))).text();
 * const { values } = await http.requests.get();
 * assert.deepEqual(values.map((value) => [value.labels, value.value]), [
 *   [{ route: "/healthcheck", status: 200 }, 1],
 * ]);
 * ```
 */
export function countRequests<Args extends unknown[]>(
  counter: Counter<"route" | "status">,
  handler: Handler<Args>,
): Handler<Args> {
  const count = (request: Request, response: Response) => {
    const path = response.status === 400
      ? requestPath(request)
      : urlPath(request.url);
    const route = path !== undefined && Object.hasOwn(ALLOWED_METHODS, path)
      ? path
      : "other";
    counter.inc({ route, status: response.status });
    return response;
  };
  return (request, ...rest) => {
    // A response Hono made at once goes back at once, with no promise
    // around it: the health check is made that way.
    const response = handler(request, ...rest);
    return response instanceof Promise
      ? response.then((response) => count(request, response))
      : count(request, response);
  };
}
