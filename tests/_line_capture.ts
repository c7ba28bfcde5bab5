import { Logger } from "../src/log.ts";

/** Collects text lines, such as log output, for tests to wait on and assert. */
export class LineCapture {
  /** Every line so far. */
  readonly lines: string[] = [];
  /** A debug-level {@linkcode Logger} whose lines land here. */
  readonly logger: Logger = new Logger("debug", (line) => this.add(line));
  #waiters: { text: string; resolve: (line: string) => void }[] = [];

  /** Adds one line. */
  add(line: string): void {
    this.lines.push(line);
    this.#waiters = this.#waiters.filter((waiter) => {
      if (!line.includes(waiter.text)) return true;
      waiter.resolve(line);
      return false;
    });
  }

  /** The first line containing `text`, once there is one. */
  waitFor(text: string): Promise<string> {
    const line = this.lines.find((line) => line.includes(text));
    if (line !== undefined) return Promise.resolve(line);
    const { promise, resolve } = Promise.withResolvers<string>();
    this.#waiters.push({ text, resolve });
    return promise;
  }
}
