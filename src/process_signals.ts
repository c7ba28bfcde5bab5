import type { Logger } from "./observability/log.ts";
import { pause } from "./pause.ts";

/**
 * The signals that ask the service to stop, with their numbers for exit
 * codes: SIGTERM from a supervisor, SIGINT from Ctrl-C, and SIGHUP when the
 * terminal it was started from goes away.
 */
const SIGNAL_NUMBERS = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as const;

/** What {@linkcode abortOnSignals} needs besides the shutdown switch. */
export interface SignalOptions {
  /** Ends the process with a code: called for a second signal. */
  forceExit: (code: number) => void;
  /**
   * Aborted at the first signal, when shutdown begins: the service stops
   * being ready but goes on serving until `shutdown` aborts.
   */
  draining?: AbortController;
  /**
   * After SIGTERM, milliseconds to go on serving, with `draining` aborted,
   * before `shutdown` aborts, so that load balancers stop sending clients
   * first. SIGINT and SIGHUP, which come from a person or their terminal,
   * stop at once.
   * @default {0}
   */
  delayMs?: number;
  /** Where the delay is announced. */
  logger?: Logger;
}

/**
 * Makes SIGTERM, SIGINT and SIGHUP abort `shutdown` with the signal's name,
 * SIGTERM after `delayMs`. A second signal once shutdown has begun (however it began)
 * calls `forceExit` with the shell's code for death by that signal, 128 plus
 * its number.
 *
 * @returns a function that removes the listeners again
 *
 * @example
 * ```ts
 * import { abortOnSignals } from "./process_signals.ts";
 *
 * const shutdown = new AbortController();
 * const removeListeners = abortOnSignals(shutdown, { forceExit: Deno.exit });
 * // ... serve until shutdown.signal aborts ...
 * removeListeners();
 * ```
 */
export function abortOnSignals(
  shutdown: AbortController,
  options: SignalOptions,
): () => void {
  const {
    forceExit,
    draining = new AbortController(),
    delayMs = 0,
    logger,
  } = options;
  const removers = Object.entries(SIGNAL_NUMBERS).map(([name, number]) => {
    const signal = name as Deno.Signal;
    const listener = () => {
      if (draining.signal.aborted || shutdown.signal.aborted) {
        forceExit(128 + number);
        return;
      }
      draining.abort(signal);
      if (signal === "SIGTERM" && delayMs > 0) {
        logger?.info("draining: /readyz answers 503 until shutdown", {
          reason: signal,
          shutdown_in_s: delayMs / 1000,
        });
        pause(delayMs, shutdown.signal).then(() => shutdown.abort(signal));
      } else {
        shutdown.abort(signal);
      }
    };
    Deno.addSignalListener(signal, listener);
    return () => Deno.removeSignalListener(signal, listener);
  });
  return () => removers.forEach((remove) => remove());
}
