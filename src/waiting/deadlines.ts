import { MAX_TIMER_DELAY_MS } from "./pause.ts";

/**
 * A set of deadlines (idle and request timeouts, drain bounds) that share a
 * handful of timers: deadlines set with the same duration fall due in the
 * order they were set, so each duration keeps one list, earliest first, and
 * one timer for its head (as Node.js does for its timers). Moving a deadline is a clock read and a move to the end of
 * a list; no timer is made per connection or per chunk. The set belongs to
 * whoever makes it (each server makes one), so nothing outlives it.
 *
 * The timers are `AbortSignal.timeout`s (see `pause()` for why), which
 * cannot be cancelled: an emptied list stops listening to its timeout, which
 * then no longer keeps the process alive, and listens to it again if a
 * deadline comes before it fires, so that connections coming and going one
 * at a time do not each leave a timeout behind.
 *
 * @example
 * ```ts
 * import { Deadlines } from "./deadlines.ts";
 *
 * const deadlines = new Deadlines();
 * const deadline = deadlines.set(5_000, () => console.log("idle"));
 * deadline.reset(30_000); // a chunk arrived: 30 s from now
 * deadline.clear(); // the connection ended first
 * ```
 */
export class Deadlines {
  #lists = new Map<number, DeadlineList>();

  /**
   * A deadline `ms` milliseconds from now that calls `onExpire` once, when it
   * passes.
   */
  set(ms: number, onExpire: () => void): Deadline {
    return new ListedDeadline(ms, onExpire, this.#listOf);
  }

  /** The list for deadlines `ms` from when they are set. */
  #listOf = (ms: number): DeadlineList => {
    let list = this.#lists.get(ms);
    if (list === undefined) {
      list = new DeadlineList(ms);
      this.#lists.set(ms, list);
    }
    return list;
  };
}

/**
 * One deadline of an {@linkcode Deadlines}: it calls `onExpire` once,
 * when it passes, unless cleared first.
 *
 * @example
 * ```ts
 * import { Deadlines } from "./deadlines.ts";
 *
 * const deadline = new Deadlines().set(5_000, () => console.log("idle"));
 * deadline.limit(1_000); // sooner, so now 1 s from now
 * deadline.clear();
 * deadline.limit(1_000); // cleared: stays cleared
 * ```
 */
export interface Deadline {
  /** Moves the deadline to `ms` milliseconds from now. */
  reset(ms: number): void;
  /**
   * Moves the deadline to `ms` milliseconds from now if that is sooner; a
   * deadline cleared or passed stays so.
   */
  limit(ms: number): void;
  /** Cancels the deadline: `onExpire` will not be called. */
  clear(): void;
}

class ListedDeadline implements Deadline {
  #entry: Entry;
  #listOf: (ms: number) => DeadlineList;

  constructor(
    ms: number,
    onExpire: () => void,
    listOf: (ms: number) => DeadlineList,
  ) {
    this.#entry = { expiresAt: 0, onExpire };
    this.#listOf = listOf;
    this.reset(ms);
  }

  reset(ms: number): void {
    const entry = this.#entry;
    entry.expiresAt = performance.now() + ms;
    // The common case, once per chunk: same duration, so to the list's end.
    if (entry.list?.ms === ms) return entry.list.moveToEnd(entry);
    entry.list?.remove(entry);
    this.#listOf(ms).append(entry);
  }

  limit(ms: number): void {
    const entry = this.#entry;
    if (entry.list === undefined) return;
    if (performance.now() + ms < entry.expiresAt) this.reset(ms);
  }

  clear(): void {
    this.#entry.list?.remove(this.#entry);
  }
}

/** A deadline's place in its list. */
interface Entry {
  /** When it passes, in `performance.now()` milliseconds. */
  expiresAt: number;
  onExpire: () => void;
  /** The list it is in, and its neighbours there; none once due or cleared. */
  list?: DeadlineList;
  previous?: Entry;
  next?: Entry;
}

/** The deadlines set with one duration, earliest first, and their timer. */
class DeadlineList {
  /** The duration of every deadline in the list. */
  readonly ms: number;
  #first?: Entry;
  #last?: Entry;
  /** Aborts when the first deadline may have passed, or before. */
  #timer?: AbortSignal;

  /** @param ms the duration of every deadline in the list */
  constructor(ms: number) {
    this.ms = ms;
  }

  append(deadline: Entry): void {
    deadline.list = this;
    deadline.previous = this.#last;
    if (this.#last) this.#last.next = deadline;
    else this.#first = deadline;
    this.#last = deadline;
    if (deadline === this.#first) this.#listen();
  }

  /** Moves a deadline just set again to the end, where it now belongs. */
  moveToEnd(deadline: Entry): void {
    if (deadline === this.#last) return;
    this.#unlink(deadline);
    this.append(deadline);
  }

  remove(deadline: Entry): void {
    this.#unlink(deadline);
    if (this.#first === undefined) {
      this.#timer?.removeEventListener("abort", this.#fire);
    }
  }

  #unlink(deadline: Entry): void {
    if (deadline.previous) deadline.previous.next = deadline.next;
    else this.#first = deadline.next;
    if (deadline.next) deadline.next.previous = deadline.previous;
    else this.#last = deadline.previous;
    deadline.list = deadline.previous = deadline.next = undefined;
  }

  /**
   * Listens to a timeout for the first deadline: it may fire early, never
   * late. A timeout that has not fired yet does: it was made for a deadline
   * set earlier with the same duration, so it is due no later.
   */
  #listen(): void {
    if (this.#timer === undefined || this.#timer.aborted) {
      const delay = this.#first!.expiresAt - performance.now();
      this.#timer = AbortSignal.timeout(
        Math.min(Math.max(0, delay), MAX_TIMER_DELAY_MS),
      );
    }
    // Once only, however often it is called: a listener is added once.
    this.#timer.addEventListener("abort", this.#fire);
  }

  #fire = (): void => {
    const now = performance.now();
    while (this.#first !== undefined && this.#first.expiresAt <= now) {
      const due = this.#first;
      this.remove(due);
      due.onExpire();
    }
    if (this.#first !== undefined) this.#listen();
  };
}
