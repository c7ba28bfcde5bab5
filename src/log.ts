/** The log levels, least severe first. */
export const LOG_LEVELS = ["debug", "info", "warning", "error"] as const;

/** How severe a log line is; lines below the configured level are dropped. */
export type LogLevel = typeof LOG_LEVELS[number];

/**
 * Writes leveled log lines, one per call, dropping those below its level.
 *
 * @example
 * ```ts
 * import { Logger } from "./log.ts";
 * import assert from "node:assert/strict";
 *
 * const lines: string[] = [];
 * const log = new Logger("info", (line) => lines.push(line));
 * log.debug("dropped");
 * log.warning("client 1: connection reset");
 * assert.deepEqual(lines, ["warning: client 1: connection reset"]);
 * ```
 */
export class Logger {
  #minimum: number;
  #write: (line: string) => void;

  /**
   * @param level the least severe level that is written
   * @param write where each line goes; standard error by default
   */
  constructor(level: LogLevel, write: (line: string) => void = console.error) {
    this.#minimum = LOG_LEVELS.indexOf(level);
    this.#write = write;
  }

  /** Logs what only someone debugging wants to see, such as each connection. */
  debug(message: string): void {
    this.#log("debug", message);
  }

  /** Logs what an operator wants to see in normal running. */
  info(message: string): void {
    this.#log("info", message);
  }

  /** Logs a fault the service survived, such as one client's error. */
  warning(message: string): void {
    this.#log("warning", message);
  }

  #log(level: LogLevel, message: string): void {
    if (LOG_LEVELS.indexOf(level) >= this.#minimum) {
      this.#write(`${level}: ${message}`);
    }
  }
}
