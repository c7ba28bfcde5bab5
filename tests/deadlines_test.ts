import assert from "node:assert/strict";
import { Deadlines } from "../src/waiting/deadlines.ts";
import { FakeTime } from "./_fake_time.ts";
import { stub } from "./_stub.ts";
import { test } from "./_time_limit.ts";
import { TimeoutListeners } from "./_timeout_listeners.ts";

/**
 * Records when each named deadline of a new set expired, in fake
 * milliseconds since the clock started.
 */
function recorder(time: FakeTime) {
  const deadlines = new Deadlines();
  const expired: [string, number][] = [];
  return {
    expired,
    deadline: (name: string, ms: number) =>
      deadlines.set(ms, () => expired.push([name, time.now - time.start])),
  };
}

test("Deadline expires each deadline of one duration at its own time", async () => {
  using time = new FakeTime();
  using _now = stub(performance, "now", () => time.now);
  const { expired, deadline } = recorder(time);
  deadline("a", 1_000);
  await time.tickAsync(300);
  deadline("b", 1_000);
  await time.tickAsync(300);
  deadline("c", 1_000);
  await time.tickAsync(2_000);
  assert.deepEqual(expired, [["a", 1_000], ["b", 1_300], ["c", 1_600]]);
});

test("Deadline.reset() and clear() move or cancel one deadline, not its neighbours", async () => {
  using time = new FakeTime();
  using _now = stub(performance, "now", () => time.now);
  const { expired, deadline } = recorder(time);
  const a = deadline("a", 1_000);
  const b = deadline("b", 1_000);
  const c = deadline("c", 1_000);
  await time.tickAsync(500);
  a.reset(1_000);
  b.clear();
  await time.tickAsync(2_000);
  assert.deepEqual(expired, [["c", 1_000], ["a", 1_500]]);
  c.clear(); // after it expired: nothing to do
});

test("Deadline.limit() only ever brings a deadline sooner", async () => {
  using time = new FakeTime();
  using _now = stub(performance, "now", () => time.now);
  const { expired, deadline } = recorder(time);
  deadline("near", 500).limit(1_000);
  deadline("far", 5_000).limit(1_000);
  await time.tickAsync(10_000);
  assert.deepEqual(expired, [["near", 500], ["far", 1_000]]);
});

test("Deadline waits out durations longer than a timer can", async () => {
  using time = new FakeTime();
  using _now = stub(performance, "now", () => time.now);
  const { expired, deadline } = recorder(time);
  const ms = 2 ** 31 + 5_000;
  deadline("long", ms);
  await time.tickAsync(ms - 1);
  assert.deepEqual(expired, []);
  await time.tickAsync(1);
  assert.deepEqual(expired, [["long", ms]]);
});

test("Deadline.limit() after clear() or expiry leaves the deadline gone", async () => {
  using time = new FakeTime();
  using _now = stub(performance, "now", () => time.now);
  const { expired, deadline } = recorder(time);
  const cleared = deadline("cleared", 5_000);
  cleared.clear();
  cleared.limit(1_000);
  const passed = deadline("passed", 500);
  await time.tickAsync(500);
  passed.limit(1_000);
  await time.tickAsync(10_000);
  assert.deepEqual(expired, [["passed", 500]]);
});

test("Deadlines sets are independent: a deadline left in one holds up no other", async () => {
  {
    using time = new FakeTime();
    using _now = stub(performance, "now", () => time.now);
    recorder(time).deadline("left behind", 1_000);
  }
  using time = new FakeTime();
  using _now = stub(performance, "now", () => time.now);
  const { expired, deadline } = recorder(time);
  deadline("fresh", 1_000);
  await time.tickAsync(1_000);
  assert.deepEqual(expired, [["fresh", 1_000]]);
});

Deno.test("Deadlines keep the process alive only while a deadline is set, by the model of Deno's keep-alive rule", () => {
  using timeouts = new TimeoutListeners();
  const deadlines = new Deadlines();
  const a = deadlines.set(5_000, () => {});
  const b = deadlines.set(30_000, () => {});
  a.reset(5_000);
  assert.equal(timeouts.keepingAlive, 2);
  a.clear();
  assert.equal(timeouts.keepingAlive, 1);
  b.reset(5_000);
  assert.equal(timeouts.keepingAlive, 1);
  b.clear();
  assert.equal(timeouts.keepingAlive, 0);
});

Deno.test("Deadlines set and cleared one at a time share one timeout", () => {
  using timeouts = new TimeoutListeners();
  const deadlines = new Deadlines();
  for (let i = 0; i < 100; i++) deadlines.set(5_000, () => {}).clear();
  assert.equal(timeouts.made, 1);
  assert.equal(timeouts.keepingAlive, 0);
});
