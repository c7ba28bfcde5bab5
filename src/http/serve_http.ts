import { Backoff } from "../backoff.ts";
import type { ListenAddress, TlsKeyPair } from "../config.ts";
import { errorCode, errorMessage } from "../error_message.ts";
import type { Logger } from "../observability/log.ts";
import { onAbort } from "../on_abort.ts";
import { pause } from "../pause.ts";
import type { Counter } from "../observability/plain_metrics.ts";
import { ThrottledLog } from "../observability/throttled_log.ts";

/** What {@linkcode serveHttp} needs besides the address and the handler. */
export interface ServeHttpOptions {
  /** Aborting it drains the requests in flight, then closes the server. */
  signal: AbortSignal;
  logger: Logger;
  /** Counts each failed accept or failed attempt to listen again, by code. */
  acceptErrors: Counter<"code">;
  /** Serves HTTPS with this certificate and key; HTTP without. */
  tls?: TlsKeyPair;
  /**
   * Starts one server: tests pass a stand-in to make it fail.
   * @default {Deno.serve}
   */
  serve?: Serve;
  /**
   * Once the signal has aborted, how long requests in flight may take before
   * every connection is cut, so that no client can hold up shutdown.
   * @default {1000}
   */
  drainMs?: number;
}

/** Starts an HTTP server: `Deno.serve`, as {@linkcode serveHttp} calls it. */
export type Serve = (
  options: Deno.ServeTcpOptions & Partial<Deno.TlsCertifiedKeyPem>,
  handler: Deno.ServeHandler<Deno.NetAddr>,
) => Deno.HttpServer<Deno.NetAddr>;

/** An HTTP server that {@linkcode serveHttp} keeps serving. */
export interface HttpService {
  /** The address it is bound to, with the real port. */
  addr: Deno.NetAddr;
  /**
   * Settles once the signal has aborted and the server has drained: with
   * true when every connection closed, false when some were still open at
   * the drain deadline (clients that never finish a request); the process
   * should then exit without them.
   */
  finished: Promise<boolean>;
}

/**
 * Serves `handler` with `Deno.serve` on `address`, and keeps serving it:
 *
 * - When the server stops by itself, its accept having failed (Deno.serve
 *   then closes its listener, as when descriptors run out), the failure is
 *   counted and logged, and the server listens again on the same address
 *   after a back-off (10 ms, doubling up to a second, and starting over once
 *   a server has served a second), until that works.
 * - When the signal aborts, the server shuts down gracefully: the listener
 *   closes, idle connections close, and requests in flight are answered. A
 *   client that never finishes its request (a half-sent or trickled body, an
 *   HTTP/2 client that never answers) would hold that up without end, so it
 *   gets `drainMs`: then a warning says so, and `finished` settles with
 *   false. (Deno.serve does not say how many connections it holds.) Deno.serve cannot cut
 *   connections once its graceful shutdown has begun, and cutting them
 *   without one can lose responses already handed to it; so the process,
 *   which owns the exit, leaves them behind by exiting.
 *
 * A request that comes in while the server drains is passed to `handler`
 * like any other; wrap it to refuse such requests.
 *
 * @throws what `Deno.serve` throws when it cannot listen at first
 *
 * @example
 * ```ts
 * import { serveHttp } from "./serve_http.ts";
 * import { Logger } from "../observability/log.ts";
 * import { createMetrics } from "../observability/metrics.ts";
 * import assert from "node:assert/strict";
 *
 * const shutdown = new AbortController();
 * const http = serveHttp({ hostname: "127.0.0.1", port: 0 }, () => new Response("ok"), {
 *   signal: shutdown.signal,
 *   logger: new Logger("warning"),
 *   acceptErrors: createMetrics().http.acceptErrors,
 * });
 * const response = await fetch(`http://127.0.0.1:${http.addr.port}/`);
 * assert.equal(await response.text(), "ok");
 * shutdown.abort();
 * assert.equal(await http.finished, true);
 * ```
 */
export function serveHttp(
  address: ListenAddress,
  handler: Deno.ServeHandler<Deno.NetAddr>,
  options: ServeHttpOptions,
): HttpService {
  const {
    signal,
    logger,
    acceptErrors,
    serve = Deno.serve,
    tls,
    drainMs = 1_000,
  } = options;
  const backoff = new Backoff();
  const start = (at: ListenAddress) =>
    new RestartableServer(serve({ ...at, ...tls, onListen() {} }, handler));
  let server = start(address);
  // Listen again on the port actually bound, even if `address` asked for 0.
  const addr = server.addr;
  const again = { hostname: addr.hostname, port: addr.port };

  const warnings = new ThrottledLog(logger, { signal });
  const failed = (error: unknown, message: string) => {
    acceptErrors.inc({ code: errorCode(error) });
    warnings.warning(message, { error: errorMessage(error) });
  };
  const aborted = new Promise<void>((resolve) => onAbort(signal, resolve));
  const served = (async () => {
    while (true) {
      const failure = await Promise.race([server.failed, aborted]);
      if (signal.aborted) return;
      failed(failure, "http accept failed: listening again");
      // A server that served a while worked: the back-off starts over.
      if (performance.now() - server.startedAt >= BACKOFF_RESET_MS) {
        backoff.reset();
      }
      while (true) {
        await backoff.pause(signal);
        if (signal.aborted) return;
        try {
          server = start(again);
          break;
        } catch (error) {
          failed(error, "http cannot listen again: retrying");
        }
      }
    }
  })();

  const finished = served.then(async () => {
    const closed = new AbortController();
    const stopped = () => closed.abort();
    server.shutdown().then(stopped, stopped);
    await pause(drainMs, closed.signal);
    if (closed.signal.aborted) return true;
    logger.warning(
      "http clients still connected at the drain deadline: leaving them",
      { drain_ms: drainMs },
    );
    return false;
  });
  return { addr, finished };
}

/**
 * How long a server must have served for its failure to start the back-off
 * over: the longest pause, so that a loop of instant failures keeps doubling.
 */
const BACKOFF_RESET_MS = 1_000;

/** One `Deno.serve` server: one listener, until its accept fails. */
class RestartableServer {
  readonly addr: Deno.NetAddr;
  /** When it started, in `performance.now()` milliseconds. */
  readonly startedAt = performance.now();
  /** Settles, with why, if the server stops without being shut down. */
  readonly failed: Promise<unknown>;
  #server: Deno.HttpServer<Deno.NetAddr>;
  #stopped = false;

  constructor(server: Deno.HttpServer<Deno.NetAddr>) {
    this.#server = server;
    this.addr = server.addr;
    this.failed = this.#server.finished.then(
      () => new Error("the HTTP server stopped"),
      (error) => error,
    ).finally(() => this.#stopped = true);
  }

  /** Closes the listener and each connection once its request is answered. */
  async shutdown(): Promise<void> {
    if (!this.#stopped) await this.#server.shutdown();
  }
}
