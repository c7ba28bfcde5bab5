import { Backoff } from "../waiting/backoff.ts";
import { errorCode, errorMessage } from "./error_message.ts";
import type { Logger } from "../observability/log.ts";
import type { Counter } from "../observability/plain_metrics.ts";
import { ThrottledLog } from "../observability/throttled_log.ts";

/** What {@linkcode AcceptFailures} needs. */
export interface AcceptFailuresOptions {
  /** Counts each failure by its error code. */
  counter: Counter<"code">;
  /** Where the failures are told, once a second at most. */
  logger: Logger;
  /** Shutdown: it cuts a back-off short and writes a held-back warning. */
  signal: AbortSignal;
  /**
   * The warning's message.
   * @default {"accept failed"}
   */
  message?: string;
}

/** Accept errors that say the process or system is out of something. */
const OUT_OF_RESOURCES = new Set(["EMFILE", "ENFILE", "ENOBUFS", "ENOMEM"]);

/**
 * What an accept loop does when `accept()` throws, the same on every port:
 * the failure is counted by its code and logged at most once a second; a
 * shortage (of descriptors, of memory) is waited out with a back-off (10 ms,
 * doubling up to a second) rather than spun on, and any other failure (such
 * as a client that reset before it was accepted, os error 107) is that one
 * client's, so the loop goes straight on.
 *
 * @example
 * ```ts
 * import { AcceptFailures } from "./accept_failures.ts";
 * import { Logger } from "../observability/log.ts";
 * import { Counter } from "../observability/plain_metrics.ts";
 * import assert from "node:assert/strict";
 *
 * const lines: string[] = [];
 * const failures = new AcceptFailures({
 *   counter: new Counter({ name: "accept_errors_total", help: "Failed accepts.", labelNames: ["code"] }),
 *   logger: new Logger("info", { write: (line) => lines.push(line) }),
 *   signal: AbortSignal.abort(),
 * });
 * await failures.failed(Object.assign(new Error("not connected"), { code: "ENOTCONN" }));
 * assert.deepEqual(lines, ['warning: accept failed error="not connected"']);
 * failures.succeeded(); // the next accept worked
 * ```
 */
export class AcceptFailures {
  #counter: Counter<"code">;
  #warnings: ThrottledLog;
  #signal: AbortSignal;
  #message: string;
  #backoff = new Backoff();

  /**
   * A rule with no failure seen yet.
   *
   * @param options where failures are counted and told, and shutdown
   */
  constructor(options: AcceptFailuresOptions) {
    const { counter, logger, signal, message = "accept failed" } = options;
    this.#counter = counter;
    this.#warnings = new ThrottledLog(logger, { signal });
    this.#signal = signal;
    this.#message = message;
  }

  /**
   * Counts and logs a failed accept. After a shortage it returns the next
   * back-off pause, which settles once over or cut short by shutdown, for
   * the loop to wait on; after any other failure, nothing.
   */
  failed(error: unknown): Promise<void> | undefined {
    const code = errorCode(error);
    this.#counter.inc({ code });
    this.#warnings.warning(this.#message, { error: errorMessage(error) });
    return OUT_OF_RESOURCES.has(code)
      ? this.#backoff.wait(this.#signal)
      : undefined;
  }

  /** An accept worked: the next shortage's back-off starts over. */
  succeeded(): void {
    this.#backoff.reset();
  }
}
