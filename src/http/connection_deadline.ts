import type { Deadline, Deadlines } from "../waiting/deadlines.ts";

/** How long an HTTP connection may wait, and how long a request may take. */
export interface HttpTimeouts {
  /** Milliseconds a connection may stay open with no request in flight. */
  idleMs: number;
  /**
   * Milliseconds a request may take, from its first byte until its response
   * has been handed over.
   */
  requestMs: number;
}

/** Why a {@linkcode ConnectionDeadline} passed: while waiting, or mid-request. */
export type DeadlineEnd = "idle" | "request_timeout";

/**
 * The deadline of one HTTP connection, kept from what the relay and the
 * handler see, with no parsing of HTTP. A connection is either waiting or in
 * a request:
 *
 * - **waiting**, from its accept and whenever no request is in flight: it
 *   may stay so for `timeouts.idleMs`;
 * - **in a request**, from the first byte the client sends while waiting, or
 *   from a handler starting while waiting (a request that was pipelined):
 *   the head, the body and the response being handed over must all be done
 *   within `timeouts.requestMs` of it. Once the last response in flight has
 *   been handed over, the connection is waiting again.
 *
 * Bytes while in a request move nothing, so a client that trickles its head
 * or body is cut at the request deadline, however steadily it trickles.
 *
 * @example
 * ```ts
 * import { ConnectionDeadline } from "./connection_deadline.ts";
 * import { Deadlines } from "../waiting/deadlines.ts";
 * import assert from "node:assert/strict";
 *
 * const ended: string[] = [];
 * using deadline = new ConnectionDeadline(new Deadlines(), {
 *   timeouts: { idleMs: 5_000, requestMs: 10_000 },
 *   onExpire: (end) => ended.push(end),
 * });
 * deadline.clientData(); // a request begins: 10 s from now
 * deadline.requestStarted(); // its handler runs
 * assert.equal(deadline.busy, true);
 * deadline.requestCompleted(); // its response is out: waiting, 5 s from now
 * assert.equal(deadline.busy, false);
 * deadline.expireNow(); // as at the limit, to make room
 * assert.deepEqual(ended, ["idle"]);
 * ```
 */
export class ConnectionDeadline implements Disposable {
  #timeouts: HttpTimeouts;
  #deadline: Deadline;
  #onExpire: (end: DeadlineEnd) => void;
  #waiting = true;
  /** Requests whose handler has started and whose response is not out. */
  #inFlight = 0;

  /**
   * A connection just accepted: waiting, with the idle timeout.
   *
   * @param deadlines the set the deadline joins: a server's connections share one
   * @param options the two timeouts, and what to call when the deadline passes
   */
  constructor(
    deadlines: Deadlines,
    options: {
      timeouts: HttpTimeouts;
      onExpire: (end: DeadlineEnd) => void;
    },
  ) {
    const { timeouts, onExpire } = options;
    this.#timeouts = timeouts;
    this.#onExpire = onExpire;
    this.#deadline = deadlines.set(timeouts.idleMs, () => this.#expire());
  }

  /** Whether a request is in flight: a handler started, its response not out. */
  get busy(): boolean {
    return this.#inFlight > 0;
  }

  /** Brings the deadline forward to now: it passes at once. */
  expireNow(): void {
    this.#deadline.clear();
    this.#expire();
  }

  /** The client sent bytes: while waiting, a request has begun. */
  clientData(): void {
    if (this.#waiting) this.#beginRequest();
  }

  /** A handler started on the connection. */
  requestStarted(): void {
    this.#inFlight++;
    if (this.#waiting) this.#beginRequest();
  }

  /** A response has been handed over, or could not be. */
  requestCompleted(): void {
    if (--this.#inFlight > 0) return;
    this.#waiting = true;
    this.#deadline.reset(this.#timeouts.idleMs);
  }

  /** Stops the deadline: the connection has ended. */
  [Symbol.dispose](): void {
    this.#deadline.clear();
  }

  #expire(): void {
    this.#onExpire(this.#waiting ? "idle" : "request_timeout");
  }

  #beginRequest(): void {
    this.#waiting = false;
    this.#deadline.reset(this.#timeouts.requestMs);
  }
}
