/**
 * The service's log, read line by line from its standard error: counted by
 * level and message, with each `connection ended` line's reason and bytes.
 *
 * @module
 */
import { Tally } from "./stats.ts";

/** The message the service logs once for each echo connection's end. */
const CONNECTION_ENDED = "connection ended";

/** The service's log lines, counted by level and by message. */
export class ServerLog {
  readonly levels = new Tally();
  /**
   * Messages other than `connection ended`, with their numbers (client ids,
   * ports) replaced by N.
   */
  readonly messages = new Tally();
  /** `connection ended` lines by reason (`limit` for a rejected client). */
  readonly ends = new Tally();
  /** The sum of the `bytes` of the `connection ended` lines. */
  endedBytes = 0;
  /** The first few lines that are not log lines, such as a stack trace. */
  readonly strayLines: string[] = [];

  add(line: string): void {
    const match = line.match(/^(debug|info|warning|error): (.*)$/);
    if (match === null) {
      this.levels.add("other");
      if (this.strayLines.length < 10) this.strayLines.push(line);
      return;
    }
    const [, level, text] = match;
    this.levels.add(level);
    if (text === CONNECTION_ENDED || text.startsWith(`${CONNECTION_ENDED} `)) {
      const fields = parseFields(text.slice(CONNECTION_ENDED.length));
      this.ends.add(fields.get("reason") ?? "no reason");
      this.endedBytes += Number(fields.get("bytes") ?? 0);
    } else {
      this.messages.add(`${level}: ${text.replace(/\d+/g, "N")}`);
    }
  }
}

/** ` key=value key="quoted value"` fields, with quoted values unquoted. */
function parseFields(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (
    const [, key, value] of text.matchAll(/ (\w+)=("(?:[^"\\]|\\.)*"|\S*)/g)
  ) {
    fields.set(key, value.startsWith('"') ? JSON.parse(value) : value);
  }
  return fields;
}
