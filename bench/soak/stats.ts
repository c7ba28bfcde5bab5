/**
 * What the soak's clients counted: successes by kind, bytes, and errors with
 * the first few messages.
 *
 * @module
 */

/** The one-line message of anything thrown, with its name. */
export function errorMessage(error: unknown): string {
  return error instanceof Error
    ? `${error.name}: ${error.message}`
    : `${error}`;
}

/** Counts errors of one kind and keeps the first few messages. */
export class Errors {
  count = 0;
  readonly samples: string[] = [];

  add(error: unknown): void {
    this.count++;
    if (this.samples.length < 5) this.samples.push(errorMessage(error));
  }
}

/** Counts occurrences of strings. */
export class Tally {
  readonly #counts = new Map<string, number>();

  add(key: string, count = 1): void {
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + count);
  }

  /** How many times `key` was added. */
  get(key: string): number {
    return this.#counts.get(key) ?? 0;
  }

  /** The keys added. */
  keys(): string[] {
    return [...this.#counts.keys()];
  }

  /** All the counts added up. */
  total(): number {
    let total = 0;
    for (const count of this.#counts.values()) total += count;
    return total;
  }

  /** The keys and their counts, the most frequent first. */
  entries(): [string, number][] {
    return [...this.#counts].sort((a, b) => b[1] - a[1]);
  }
}

/** What the clients saw during the load. */
export class Stats {
  /** Well-behaved echo clients whose echo was complete and correct. */
  served = 0;
  /** The served clients that half-closed before they read. */
  halfCloses = 0;
  bytesVerified = 0;
  /**
   * Bytes handed to echo connections to send, by every kind of client: more
   * than the service can have received, as some writes are cut short.
   */
  bytesOffered = 0;
  readonly wellBehavedErrors = new Errors();
  resets = 0;
  /** Idle clients the service dropped, not too soon. */
  idleTimeouts = 0;
  readonly idleErrors = new Errors();
  nonReaders = 0;
  /** Replies to garbage, keyed by what was sent and what came back. */
  readonly garbage = new Tally();
  /** Garbage that got an HTTP reply, keyed by its path and status. */
  readonly garbageReplies = new Tally();
  healthOk = 0;
  healthSlowestMs = 0;
  readonly healthErrors = new Errors();
  /** Surprises for resetting, non-reading and garbage clients. */
  readonly otherErrors = new Errors();
}
