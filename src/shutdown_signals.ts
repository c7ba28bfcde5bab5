/** The signals that ask the service to stop, with their numbers for exit codes. */
const SIGNAL_NUMBERS = { SIGINT: 2, SIGTERM: 15 } as const;

/**
 * Makes SIGINT and SIGTERM abort `shutdown` with the signal's name. A second
 * one while shutdown is under way (however it began) calls `forceExit` with
 * the shell's code for death by that signal, 128 plus its number.
 *
 * @returns a function that removes the listeners again
 *
 * @example
 * ```ts
 * import { abortOnSignals } from "./shutdown_signals.ts";
 *
 * const shutdown = new AbortController();
 * const removeListeners = abortOnSignals(shutdown, Deno.exit);
 * // ... serve until shutdown.signal aborts ...
 * removeListeners();
 * ```
 */
export function abortOnSignals(
  shutdown: AbortController,
  forceExit: (code: number) => void,
): () => void {
  const removers = Object.entries(SIGNAL_NUMBERS).map(([name, number]) => {
    const signal = name as Deno.Signal;
    const listener = () => {
      if (shutdown.signal.aborted) forceExit(128 + number);
      else shutdown.abort(signal);
    };
    Deno.addSignalListener(signal, listener);
    return () => Deno.removeSignalListener(signal, listener);
  });
  return () => removers.forEach((remove) => remove());
}
