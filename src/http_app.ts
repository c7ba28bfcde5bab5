import { Hono } from "hono";
import type { Handler } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import { bodyLimit } from "hono/body-limit";

/**
 * What the app needs from the server for each request: `Deno.serve` passes
 * its `Deno.ServeHandlerInfo`, which has it; tests pass their own.
 */
export interface HttpBindings {
  /** Settles once the response has been sent, or could not be. */
  completed: Promise<void>;
}

/** What {@linkcode createHttpApp} needs. */
export interface HttpAppOptions {
  /** Called once the `POST /die` response has reached the client. */
  onDie: () => void;
  /** When set, `POST /die` needs `Authorization: Bearer <dieToken>`. */
  dieToken?: string;
  /** Once aborted, every request gets 503: the service is shutting down. */
  signal?: AbortSignal;
}

/** No route reads a body; a larger one is refused before it is read. */
const MAX_BODY_BYTES = 1024;

/**
 * The HTTP side of the service: `GET /healthcheck` answers `ok computer`,
 * `POST /die` answers `bye bye` and then calls `onDie`. A known path with
 * the wrong method gets 405 with an `Allow` header, anything else 404, a body
 * over 1 KiB 413, and every request once the signal has aborted 503.
 *
 * @example
 * ```ts
 * import { createHttpApp } from "./http_app.ts";
 * import assert from "node:assert/strict";
 *
 * const app = createHttpApp({ onDie: () => {} });
 * const response = await app.request("/healthcheck", {}, { completed: Promise.resolve() });
 * assert.equal(await response.text(), "ok computer");
 * ```
 */
export function createHttpApp(
  options: HttpAppOptions,
): Hono<{ Bindings: HttpBindings }> {
  const { onDie, dieToken, signal } = options;
  const app = new Hono<{ Bindings: HttpBindings }>()
    .use(async (c, next) => {
      if (signal?.aborted) {
        return c.text("shutting down", 503, { Connection: "close" });
      }
      await next();
    })
    .use(bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) => c.text("request body too large", 413),
    }))
    .get("/healthcheck", (c) => c.text("ok computer"))
    .all("/healthcheck", methodNotAllowed("GET, HEAD"));
  if (dieToken !== undefined) app.post("/die", bearerAuth({ token: dieToken }));
  return app
    .post("/die", (c) => {
      // Shut down only after "bye bye" is out, or could not be sent.
      c.env.completed.then(onDie, onDie);
      return c.text("bye bye");
    })
    .all("/die", methodNotAllowed("POST"))
    .notFound((c) => c.text("not found", 404));
}

function methodNotAllowed(allow: string): Handler {
  return (c) => c.text("method not allowed", 405, { Allow: allow });
}
