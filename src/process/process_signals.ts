/**
 * What the process does with each signal that people, supervisors and
 * scripts send. Until a signal has a listener, Deno does what the kernel
 * does by default: SIGUSR1, SIGUSR2 and SIGALRM would end the process, and
 * SIGQUIT would end it with a core dump, with no shutdown at all. So
 * {@linkcode ProcessSignals} listens to all of them from the moment it is
 * made, which `main.ts` does first of all:
 *
 * - SIGTERM, SIGINT, SIGHUP and SIGQUIT stop the service: SIGTERM after the
 *   shutdown delay, the others at once. A second one once shutdown has begun
 *   ends the process with the shell's code for death by that signal, 128 plus
 *   its number: 143, 130, 129 or 131.
 * - SIGUSR1, SIGUSR2 and SIGALRM are ignored, with a warning at most once a
 *   second for each. (Under `deno run`, Deno itself also opens its inspector
 *   on SIGUSR1 from half a second after start, whatever a program does: see
 *   the README's Security section.)
 *
 * Until the service is attached ({@linkcode ProcessSignals.attach}), there is
 * nothing to drain, so a stopping signal ends the process at once with that
 * same code, and an ignored one is ignored silently (no logger yet).
 *
 * @module
 */
import type { Logger } from "../observability/log.ts";
import { ThrottledLog } from "../observability/throttled_log.ts";
import { pause } from "../waiting/pause.ts";

/**
 * The signals that stop the service, with their numbers for exit codes:
 * SIGTERM from a supervisor, SIGINT from Ctrl-C, SIGHUP when the terminal it
 * was started from goes away, SIGQUIT from Ctrl-\.
 */
const STOP_SIGNALS = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGTERM: 15 } as const;

/** The signals the service ignores, which would otherwise end it. */
const IGNORED_SIGNALS = ["SIGUSR1", "SIGUSR2", "SIGALRM"] as const;
type IgnoredSignal = typeof IGNORED_SIGNALS[number];

/** What {@linkcode ProcessSignals.attach} needs besides the shutdown switch. */
export interface AttachOptions {
  /**
   * Aborted at the first stopping signal, when shutdown begins: the service
   * stops being ready but goes on serving until `shutdown` aborts.
   */
  draining?: AbortController;
  /**
   * After SIGTERM, milliseconds to go on serving, with `draining` aborted,
   * before `shutdown` aborts, so that load balancers stop sending clients
   * first. SIGINT, SIGHUP and SIGQUIT, which come from a person or their
   * terminal, stop at once.
   * @default {0}
   */
  delayMs?: number;
  /** Where the delay and the ignored signals are told. */
  logger: Logger;
}

/** The service the signals are handed to, once it runs. */
interface Attached {
  shutdown: AbortController;
  draining: AbortController;
  delayMs: number;
  logger: Logger;
  /** One throttled log per ignored signal, so that one cannot hide another. */
  ignoredLogs: Record<IgnoredSignal, ThrottledLog>;
}

/**
 * Listens to every signal the service answers, from the moment it is made
 * until it is disposed: see the module documentation for what each does.
 *
 * @example
 * ```ts
 * import { ProcessSignals } from "./process_signals.ts";
 * import { Logger } from "../observability/log.ts";
 * import assert from "node:assert/strict";
 *
 * using signals = new ProcessSignals(Deno.exit); // first of all
 * // ... read the settings, start the service ...
 * const shutdown = new AbortController();
 * signals.attach(shutdown, { logger: new Logger("info") });
 * const serving = setInterval(() => {}, 1_000); // stands for the service
 * const stopped = new Promise((resolve) => shutdown.signal.onabort = resolve);
 * Deno.kill(Deno.pid, "SIGHUP"); // the terminal went away
 * await stopped;
 * clearInterval(serving);
 * assert.equal(shutdown.signal.reason, "SIGHUP");
 * ```
 */
export class ProcessSignals implements Disposable {
  #forceExit: (code: number) => void;
  #attached?: Attached;
  #removers: (() => void)[];

  /**
   * Listens to every signal the service answers, from now on.
   *
   * @param forceExit ends the process with a code: called for a stopping
   * signal before the service runs, and for a second one once shutdown has
   * begun
   */
  constructor(forceExit: (code: number) => void) {
    this.#forceExit = forceExit;
    this.#removers = [
      ...Object.entries(STOP_SIGNALS).map(([name, number]) =>
        listen(name as Deno.Signal, () => this.#stop(name, number))
      ),
      ...IGNORED_SIGNALS.map((name) => listen(name, () => this.#ignore(name))),
    ];
  }

  /**
   * Attaches the running service: from now on the first stopping signal
   * aborts `shutdown` with the signal's name (SIGTERM after `delayMs`), and
   * the ignored ones are logged.
   */
  attach(shutdown: AbortController, options: AttachOptions): void {
    const { draining = new AbortController(), delayMs = 0, logger } = options;
    const log = () => new ThrottledLog(logger, { signal: shutdown.signal });
    const ignoredLogs = { SIGUSR1: log(), SIGUSR2: log(), SIGALRM: log() };
    this.#attached = { shutdown, draining, delayMs, logger, ignoredLogs };
  }

  #stop(signal: string, number: number): void {
    const attached = this.#attached;
    // Nothing to drain yet, or shutdown already under way.
    if (
      attached === undefined || attached.draining.signal.aborted ||
      attached.shutdown.signal.aborted
    ) {
      this.#forceExit(128 + number);
      return;
    }
    const { shutdown, draining, delayMs, logger } = attached;
    draining.abort(signal);
    if (signal === "SIGTERM" && delayMs > 0) {
      logger.info("draining: /readyz answers 503 until shutdown", {
        reason: signal,
        shutdown_in_s: delayMs / 1000,
      });
      pause(delayMs, shutdown.signal).then(() => shutdown.abort(signal));
    } else {
      shutdown.abort(signal);
    }
  }

  #ignore(signal: IgnoredSignal): void {
    this.#attached?.ignoredLogs[signal].warning("signal ignored", { signal });
  }

  /** Stops listening: the signals have their default actions again. */
  [Symbol.dispose](): void {
    this.#removers.forEach((remove) => remove());
  }
}

function listen(signal: Deno.Signal, listener: () => void): () => void {
  Deno.addSignalListener(signal, listener);
  return () => Deno.removeSignalListener(signal, listener);
}
