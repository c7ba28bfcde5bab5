import { MAX_TIMER_DELAY_MS } from "../pause.ts";

/**
 * A set of idle deadlines that share a handful of timers: deadlines set with
 * the same duration fall due in the order they were set, so each duration
 * keeps one list, earliest first, and one timer for its head (as Node.js does
 * for its timers). Moving a deadline is a clock read and a move to the end of
 * a list; no timer is made per connection or per chunk. The set belongs to
 * whoever makes it (the echo server makes one), so nothing outlives it.
 *
 * @example
 * ```ts
 * import { IdleDeadlines } from "./idle_deadline.ts";
 *
 * const deadlines = new IdleDeadlines();
 * const deadline = deadlines.set(5_000, () => console.log("idle"));
 * deadline.reset(30_000); // a chunk arrived: 30 s from now
 * deadline.clear(); // the connection ended first
 * ```
 */
export class IdleDeadlines {
  #lists = new Map<number, DeadlineList>();

  /**
   * A deadline `ms` milliseconds from now that calls `onExpire` once, when it
   * passes.
   */
  set(ms: number, onExpire: () => void): IdleDeadline {
    return new Deadline(ms, onExpire, this.#listOf);
  }

  /** The list for deadlines `ms` from when they are set. */
  #listOf = (ms: number): DeadlineList => {
    let list = this.#lists.get(ms);
    if (list === undefined) {
      list = new DeadlineList(ms, () => this.#lists.delete(ms));
      this.#lists.set(ms, list);
    }
    return list;
  };
}

/**
 * One deadline of an {@linkcode IdleDeadlines}: it calls `onExpire` once,
 * when it passes, unless cleared first.
 *
 * @example
 * ```ts
 * import { IdleDeadlines } from "./idle_deadline.ts";
 *
 * const deadline = new IdleDeadlines().set(5_000, () => console.log("idle"));
 * deadline.limit(1_000); // sooner, so now 1 s from now
 * deadline.clear();
 * deadline.limit(1_000); // cleared: stays cleared
 * ```
 */
export interface IdleDeadline {
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

class Deadline implements IdleDeadline {
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
  #onEmpty: () => void;
  #first?: Entry;
  #last?: Entry;
  /** Aborts when the first deadline may have passed; see `pause()` for why. */
  #timer?: AbortSignal;

  /**
   * @param ms the duration of every deadline in the list
   * @param onEmpty called when its last deadline leaves it
   */
  constructor(ms: number, onEmpty: () => void) {
    this.ms = ms;
    this.#onEmpty = onEmpty;
  }

  append(deadline: Entry): void {
    deadline.list = this;
    deadline.previous = this.#last;
    if (this.#last) this.#last.next = deadline;
    else this.#first = deadline;
    this.#last = deadline;
    this.#timer ??= this.#arm();
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
      // Nothing left to wait for: a timeout nothing listens to no longer
      // keeps the process alive, and runs out by itself.
      this.#timer?.removeEventListener("abort", this.#fire);
      this.#timer = undefined;
      this.#onEmpty();
    }
  }

  #unlink(deadline: Entry): void {
    if (deadline.previous) deadline.previous.next = deadline.next;
    else this.#first = deadline.next;
    if (deadline.next) deadline.next.previous = deadline.previous;
    else this.#last = deadline.previous;
    deadline.list = deadline.previous = deadline.next = undefined;
  }

  /** A timer for the first deadline; it may fire early, never late. */
  #arm(): AbortSignal {
    const delay = this.#first!.expiresAt - performance.now();
    const timer = AbortSignal.timeout(
      Math.min(Math.max(0, delay), MAX_TIMER_DELAY_MS),
    );
    timer.addEventListener("abort", this.#fire);
    return timer;
  }

  #fire = (): void => {
    this.#timer = undefined;
    const now = performance.now();
    while (this.#first !== undefined && this.#first.expiresAt <= now) {
      const due = this.#first;
      this.remove(due);
      due.onExpire();
    }
    if (this.#first !== undefined) this.#timer ??= this.#arm();
  };
}
