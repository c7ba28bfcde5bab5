import { MAX_TIMER_DELAY_MS } from "./pause.ts";

/**
 * Deadlines by the thousand that share a handful of timers: a server's idle
 * timeouts, request timeouts and drain bounds, one per connection, moved at
 * every chunk. How it works:
 *
 * ```text
 *   Deadlines ─┬─ 5000 ms list:  a ⇄ b ⇄ c    one timer, for a
 *              └─ 30000 ms list: d ⇄ e        one timer, for d
 * ```
 *
 * Deadlines set with the same duration fall due in the order they were set,
 * so each duration keeps one list, earliest first, with one timer for its
 * head (as Node.js does for its timers). Setting a deadline again appends it
 * to the end of its list: a clock read and a few links, and no timer made
 * per connection or per chunk. The deadlines are the lists' own nodes (an
 * intrusive list), so none is searched for, and nothing is allocated per
 * move. When a list's timer fires, every deadline due is expired, and the
 * timer is set for the new head.
 *
 * The timers are `AbortSignal.timeout`s (see `pause()` for why). One cannot
 * be cancelled, but it keeps the process alive only while something listens
 * to it: a list that empties stops listening, so that an idle service can
 * exit, and listens again if a deadline comes before the timer fires, so
 * that connections coming and going one at a time do not each leave a timer
 * behind. The set belongs to whoever makes it (each server makes one), so
 * nothing outlives it.
 *
 * @module
 */

/**
 * A set of deadlines that share one timer per duration (see the module doc).
 *
 * @example
 * ```ts
 * import { Deadlines } from "./deadlines.ts";
 * import assert from "node:assert/strict";
 *
 * const deadlines = new Deadlines();
 * const ended: string[] = [];
 * const idle = deadlines.set(5_000, () => ended.push("idle"));
 * idle.reset(30_000); // a chunk arrived: 30 s from now
 * idle.clear(); // the connection ended first: never called
 * const passed = Promise.withResolvers<void>();
 * deadlines.set(0, () => {
 *   ended.push("due");
 *   passed.resolve();
 * });
 * await passed.promise;
 * assert.deepEqual(ended, ["due"]);
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
 * One deadline of a {@linkcode Deadlines}: it calls `onExpire` once, when it
 * passes, unless cleared first.
 *
 * @example
 * ```ts
 * import { Deadlines } from "./deadlines.ts";
 * import assert from "node:assert/strict";
 *
 * const passed = Promise.withResolvers<number>();
 * const deadline = new Deadlines().set(5_000, () => passed.resolve(performance.now()));
 * const limitedAt = performance.now();
 * deadline.limit(0); // sooner: due at once
 * deadline.limit(60_000); // later: limit() never puts it off
 * assert.ok(await passed.promise - limitedAt < 5_000);
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

/** A deadline, and its place in its list. */
class ListedDeadline implements Deadline {
  /** When it passes, in `performance.now()` milliseconds. */
  expiresAt = 0;
  readonly onExpire: () => void;
  /** The list it is in, and its neighbours there; none once due or cleared. */
  list?: DeadlineList;
  previous?: ListedDeadline;
  next?: ListedDeadline;
  readonly #listOf: (ms: number) => DeadlineList;

  constructor(
    ms: number,
    onExpire: () => void,
    listOf: (ms: number) => DeadlineList,
  ) {
    this.onExpire = onExpire;
    this.#listOf = listOf;
    this.reset(ms);
  }

  reset(ms: number): void {
    this.expiresAt = performance.now() + ms;
    // The common case, once per chunk: same duration, so to the list's end.
    if (this.list?.ms === ms) return this.list.moveToEnd(this);
    this.list?.remove(this);
    this.#listOf(ms).append(this);
  }

  limit(ms: number): void {
    if (this.list === undefined) return;
    if (performance.now() + ms < this.expiresAt) this.reset(ms);
  }

  clear(): void {
    this.list?.remove(this);
  }
}

/** The deadlines set with one duration, earliest first, and their timer. */
class DeadlineList {
  /** The duration of every deadline in the list. */
  readonly ms: number;
  #first?: ListedDeadline;
  #last?: ListedDeadline;
  /** Aborts when the first deadline may have passed, or before. */
  #timer?: AbortSignal;

  /** @param ms the duration of every deadline in the list */
  constructor(ms: number) {
    this.ms = ms;
  }

  append(deadline: ListedDeadline): void {
    deadline.list = this;
    deadline.previous = this.#last;
    if (this.#last) this.#last.next = deadline;
    else this.#first = deadline;
    this.#last = deadline;
    if (deadline === this.#first) this.#listen();
  }

  /** Moves a deadline just set again to the end, where it now belongs. */
  moveToEnd(deadline: ListedDeadline): void {
    if (deadline === this.#last) return;
    this.#unlink(deadline);
    this.append(deadline);
  }

  remove(deadline: ListedDeadline): void {
    this.#unlink(deadline);
    if (this.#first === undefined) {
      this.#timer?.removeEventListener("abort", this.#fire);
    }
  }

  #unlink(deadline: ListedDeadline): void {
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
