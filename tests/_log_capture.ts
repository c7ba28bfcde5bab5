import { Logger } from "../src/log.ts";

/** A {@linkcode Logger} at debug level that keeps its lines for assertions. */
export class LogCapture {
  /** Every line logged so far. */
  readonly lines: string[] = [];
  /** The logger to hand to the code under test. */
  readonly logger = new Logger("debug", (line) => this.#add(line));
  #waiters: { text: string; resolve: (line: string) => void }[] = [];

  /** The first line containing `text`, once it has been logged. */
  waitFor(text: string): Promise<string> {
    const line = this.lines.find((line) => line.includes(text));
    if (line !== undefined) return Promise.resolve(line);
    const { promise, resolve } = Promise.withResolvers<string>();
    this.#waiters.push({ text, resolve });
    return promise;
  }

  #add(line: string): void {
    this.lines.push(line);
    this.#waiters = this.#waiters.filter((waiter) => {
      if (!line.includes(waiter.text)) return true;
      waiter.resolve(line);
      return false;
    });
  }
}
