import { Hono } from "hono";
import type { Handler } from "hono";

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
}

/**
 * The HTTP side of the service: `GET /healthcheck` answers `ok computer`,
 * `POST /die` answers `bye bye` and then calls `onDie`. A known path with
 * the wrong method gets 405 with an `Allow` header, anything else 404.
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
  const { onDie } = options;
  return new Hono<{ Bindings: HttpBindings }>()
    .get("/healthcheck", (c) => c.text("ok computer"))
    .all("/healthcheck", methodNotAllowed("GET, HEAD"))
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
