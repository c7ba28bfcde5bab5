import { Logger } from "../src/observability/log.ts";

/** Collects text lines, such as log output, for tests to wait on and assert. */
export class LineCapture {
  /** Every line so far. */
  readonly lines: string[] = [];
  /** A debug-level {@linkcode Logger} whose lines land here. */
  readonly logger: Logger = new Logger("debug", {
    write: (line) => this.add(line),
  });
  #waiters: {
    match: RegExp;
    count: number;
    resolve: (line: string) => void;
  }[] = [];

  /** Adds one line. */
  add(line: string): void {
    this.lines.push(line);
    this.#waiters = this.#waiters.filter((waiter) => {
      if (!waiter.match.test(line) || --waiter.count > 0) return true;
      waiter.resolve(line);
      return false;
    });
  }

  /**
   * The `count`th line containing `text` (or matching it, for a RegExp),
   * once there is one.
   */
  waitFor(text: string | RegExp, count = 1): Promise<string> {
    const match = typeof text === "string"
      ? new RegExp(RegExp.escape(text))
      : text;
    const matches = this.lines.filter((line) => match.test(line));
    if (matches.length >= count) return Promise.resolve(matches[count - 1]);
    const { promise, resolve } = Promise.withResolvers<string>();
    this.#waiters.push({ match, count: count - matches.length, resolve });
    return promise;
  }
}
