/** The log levels, least severe first. */
export const LOG_LEVELS = ["debug", "info", "warning", "error"] as const;

/** How severe a log line is; lines below the configured level are dropped. */
export type LogLevel = typeof LOG_LEVELS[number];

/** The ways a log line can be written. */
export const LOG_FORMATS = ["text", "json"] as const;

/**
 * `text`: `level: message key=value ...`, for people; `json`: one object per
 * line with `time`, `level`, `message` and the fields, for log pipelines.
 */
export type LogFormat = typeof LOG_FORMATS[number];

/** Structured details of a log line, such as a client's id and address. */
export type LogFields = Readonly<Record<string, string | number>>;

/** How a {@linkcode Logger} writes. */
export interface LoggerOptions {
  /**
   * How lines are written.
   * @default {"text"}
   */
  format?: LogFormat;
  /**
   * Where each line goes: the service passes a `LogQueue`'s `push`,
   * which never blocks.
   * @default standard error, written synchronously (`console.error`)
   */
  write?: (line: string) => void;
}

/**
 * Writes leveled log lines, one per call, dropping those below its level.
 *
 * @example
 * ```ts
 * import { Logger } from "./log.ts";
 * import assert from "node:assert/strict";
 *
 * const lines: string[] = [];
 * const log = new Logger("info", { write: (line) => lines.push(line) });
 * log.debug("dropped");
 * log.warning("connection failed", { client: 1, error: "connection reset" });
 * assert.deepEqual(lines, ['warning: connection failed client=1 error="connection reset"']);
 *
 * const json = new Logger("info", { format: "json", write: (line) => lines.push(line) });
 * json.info("connection ended", { client: 2 });
 * const { time, ...rest } = JSON.parse(lines[1]);
 * assert.ok(!Number.isNaN(Date.parse(time)));
 * assert.deepEqual(rest, { level: "info", message: "connection ended", client: 2 });
 * ```
 */
export class Logger {
  #minimum: number;
  #format: LogFormat;
  #write: (line: string) => void;

  /**
   * A logger that writes lines of `level` and above.
   *
   * @param level the least severe level that is written
   * @param options the format and where lines go
   */
  constructor(level: LogLevel, options: LoggerOptions = {}) {
    const { format = "text", write = console.error } = options;
    this.#minimum = LOG_LEVELS.indexOf(level);
    this.#format = format;
    this.#write = write;
  }

  /**
   * Whether lines of `level` are written: a caller checks it before it builds
   * the fields of a line that may be off, so that an off level costs nothing.
   */
  isEnabled(level: LogLevel): boolean {
    return LOG_LEVELS.indexOf(level) >= this.#minimum;
  }

  /** Logs what only someone debugging wants to see. */
  debug(message: string, fields?: LogFields): void {
    this.#log("debug", message, fields);
  }

  /** Logs what an operator wants to see in normal running, such as each connection's end. */
  info(message: string, fields?: LogFields): void {
    this.#log("info", message, fields);
  }

  /** Logs a fault the service survived, such as one client's error. */
  warning(message: string, fields?: LogFields): void {
    this.#log("warning", message, fields);
  }

  /** Logs a fault the service did not survive, such as a port in use. */
  error(message: string, fields?: LogFields): void {
    this.#log("error", message, fields);
  }

  #log(level: LogLevel, message: string, fields?: LogFields): void {
    if (this.isEnabled(level)) {
      this.#write(formatLogLine(this.#format, level, message, fields));
    }
  }
}

/**
 * One log line in `format`, without its newline: what {@linkcode Logger}
 * writes, for those who write a line of their own in the same format.
 *
 * @example
 * ```ts
 * import { formatLogLine } from "./log.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(formatLogLine("text", "warning", "log lines dropped", { count: 3 }), "warning: log lines dropped count=3");
 * assert.equal(JSON.parse(formatLogLine("json", "error", "bad")).level, "error");
 * ```
 */
export function formatLogLine(
  format: LogFormat,
  level: LogLevel,
  message: string,
  fields: LogFields = {},
): string {
  return format === "json"
    ? jsonLine(level, message, fields)
    : textLine(level, message, fields);
}

function textLine(level: LogLevel, message: string, fields: LogFields): string {
  let line = `${level}: ${message}`;
  for (const [key, value] of Object.entries(fields)) {
    const plain = typeof value === "number" || /^[^\s"=]+$/.test(value);
    line += ` ${key}=${plain ? value : JSON.stringify(value)}`;
  }
  return line;
}

function jsonLine(level: LogLevel, message: string, fields: LogFields): string {
  const time = new Date().toISOString();
  return JSON.stringify({ time, level, message, ...fields });
}
