import assert from "node:assert/strict";
import fc from "fast-check";
import {
  ConnectionDeadline,
  type DeadlineEnd,
} from "../src/http/connection_deadline.ts";
import { Deadlines } from "../src/waiting/deadlines.ts";
import { FakeTime } from "./_fake_time.ts";
import { stub } from "./_stub.ts";
import { test } from "./_time_limit.ts";

/** The defaults: `--http-idle-timeout 5`, `--http-request-timeout 10`. */
const timeouts = { idleMs: 5_000, requestMs: 10_000 };

/**
 * A connection's deadline on the fake clock, with when and why it expired,
 * in fake milliseconds since the clock started.
 */
function connection(time: FakeTime, options = timeouts) {
  const expired: [DeadlineEnd, number][] = [];
  const deadline = new ConnectionDeadline(new Deadlines(), {
    timeouts: options,
    onExpire: (end) => expired.push([end, time.now - time.start]),
  });
  return { deadline, expired };
}

test("ConnectionDeadline closes a connection that sends nothing at 5 s, not before", async () => {
  using time = new FakeTime();
  using _now = stub(performance, "now", () => time.now);
  const { expired } = connection(time);
  await time.tickAsync(4_999);
  assert.deepEqual(expired, []);
  await time.tickAsync(1);
  assert.deepEqual(expired, [["idle", 5_000]]);
});

test("ConnectionDeadline gives a head trickled byte by byte 10 s from its first byte", async () => {
  using time = new FakeTime();
  using _now = stub(performance, "now", () => time.now);
  const { deadline, expired } = connection(time);
  await time.tickAsync(4_000);
  // A byte a second from 4 s on: none moves the deadline.
  for (let second = 0; second < 9; second++) {
    deadline.clientData();
    await time.tickAsync(1_000);
  }
  deadline.clientData();
  await time.tickAsync(999);
  assert.deepEqual(expired, []);
  await time.tickAsync(1);
  assert.deepEqual(expired, [["request_timeout", 14_000]]);
});

test("ConnectionDeadline gives a slow body the same 10 s, its handler running", async () => {
  using time = new FakeTime();
  using _now = stub(performance, "now", () => time.now);
  const { deadline, expired } = connection(time);
  deadline.clientData();
  await time.tickAsync(100);
  deadline.requestStarted();
  for (let second = 0; second < 9; second++) {
    await time.tickAsync(1_000);
    deadline.clientData();
  }
  await time.tickAsync(899);
  assert.deepEqual(expired, []);
  await time.tickAsync(1);
  assert.deepEqual(expired, [["request_timeout", 10_000]]);
});

test("ConnectionDeadline waits again, for 5 s, once the response is handed over", async () => {
  using time = new FakeTime();
  using _now = stub(performance, "now", () => time.now);
  const { deadline, expired } = connection(time);
  await time.tickAsync(4_000);
  deadline.clientData();
  deadline.requestStarted();
  await time.tickAsync(9_000);
  deadline.requestCompleted();
  // Kept alive: 5 s from the response, though the request began 9 s before.
  await time.tickAsync(4_999);
  assert.deepEqual(expired, []);
  await time.tickAsync(1);
  assert.deepEqual(expired, [["idle", 18_000]]);
});

test("ConnectionDeadline keeps a request's deadline until the last response in flight is out", async () => {
  using time = new FakeTime();
  using _now = stub(performance, "now", () => time.now);
  const { deadline, expired } = connection(time);
  deadline.clientData();
  deadline.requestStarted();
  deadline.requestStarted();
  await time.tickAsync(1_000);
  deadline.requestCompleted();
  await time.tickAsync(8_999);
  assert.deepEqual(expired, []);
  await time.tickAsync(1);
  assert.deepEqual(expired, [["request_timeout", 10_000]]);
});

test("ConnectionDeadline starts a request's deadline when a pipelined handler starts while waiting", async () => {
  using time = new FakeTime();
  using _now = stub(performance, "now", () => time.now);
  const { deadline, expired } = connection(time);
  deadline.clientData();
  deadline.requestStarted();
  await time.tickAsync(1_000);
  deadline.requestCompleted();
  // The next request came with the first: its handler starts, no new byte.
  await time.tickAsync(3_000);
  deadline.requestStarted();
  await time.tickAsync(9_999);
  assert.deepEqual(expired, []);
  await time.tickAsync(1);
  assert.deepEqual(expired, [["request_timeout", 14_000]]);
});

test("ConnectionDeadline disposed never expires", async () => {
  using time = new FakeTime();
  using _now = stub(performance, "now", () => time.now);
  const { deadline, expired } = connection(time);
  deadline[Symbol.dispose]();
  await time.tickAsync(60_000);
  assert.deepEqual(expired, []);
});

/** What can happen on a connection, after a gap of fake milliseconds. */
type Event = ["data" | "start" | "complete", number];

/**
 * When and why a connection with these events expires, worked out plainly:
 * waiting from the start and whenever nothing is in flight, for `idleMs`;
 * otherwise for `requestMs` from the byte or handler start that began it.
 */
function expectedExpiry(
  events: Event[],
  options: typeof timeouts,
): [DeadlineEnd, number] {
  let now = 0;
  let waiting = true;
  let inFlight = 0;
  let expiresAt = options.idleMs;
  for (const [kind, gap] of events) {
    if (now + gap >= expiresAt) break;
    now += gap;
    if (kind === "complete" && inFlight === 0) continue;
    if (kind === "complete") {
      if (--inFlight === 0) [waiting, expiresAt] = [true, now + options.idleMs];
      continue;
    }
    if (kind === "start") inFlight++;
    if (waiting) [waiting, expiresAt] = [false, now + options.requestMs];
  }
  return [waiting ? "idle" : "request_timeout", expiresAt];
}

test("ConnectionDeadline expires when and as the plain rule says, for any events and timeouts", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        idleMs: fc.integer({ min: 1, max: 10_000 }),
        requestMs: fc.integer({ min: 1, max: 10_000 }),
      }),
      fc.array(
        fc.tuple(
          fc.constantFrom(
            "data" as const,
            "start" as const,
            "complete" as const,
          ),
          fc.integer({ min: 0, max: 6_000 }),
        ),
        { maxLength: 30 },
      ),
      async (options, events) => {
        using time = new FakeTime(0);
        using _now = stub(performance, "now", () => time.now);
        const { deadline, expired } = connection(time, options);
        let inFlight = 0;
        for (const [kind, gap] of events) {
          await time.tickAsync(gap);
          if (expired.length > 0) break;
          if (kind === "data") deadline.clientData();
          if (kind === "start") inFlight++, deadline.requestStarted();
          // Only a handler that started completes.
          if (kind === "complete" && inFlight > 0) {
            inFlight--, deadline.requestCompleted();
          }
        }
        await time.tickAsync(options.idleMs + options.requestMs);
        assert.deepEqual(expired, [expectedExpiry(events, options)]);
      },
    ),
    { numRuns: 200 },
  );
});
