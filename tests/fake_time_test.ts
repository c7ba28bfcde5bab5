import assert from "node:assert/strict";
import { FakeTime, TimeError } from "./_fake_time.ts";

const real = {
  Date,
  setTimeout,
  clearTimeout,
  setInterval,
  clearInterval,
  abortSignalTimeout: AbortSignal.timeout,
  performanceNow: performance.now,
};

Deno.test("FakeTime fakes Date, the timers and AbortSignal.timeout, as @std's does, and restores them", () => {
  {
    using _time = new FakeTime();
    assert.notEqual(Date, real.Date);
    assert.notEqual(setTimeout, real.setTimeout);
    assert.notEqual(clearTimeout, real.clearTimeout);
    assert.notEqual(setInterval, real.setInterval);
    assert.notEqual(clearInterval, real.clearInterval);
    assert.notEqual(AbortSignal.timeout, real.abortSignalTimeout);
  }
  assert.equal(Date, real.Date);
  assert.equal(setTimeout, real.setTimeout);
  assert.equal(clearTimeout, real.clearTimeout);
  assert.equal(setInterval, real.setInterval);
  assert.equal(clearInterval, real.clearInterval);
  assert.equal(AbortSignal.timeout, real.abortSignalTimeout);
});

Deno.test("FakeTime leaves performance.now() alone, as @std's does", () => {
  using time = new FakeTime();
  assert.equal(performance.now, real.performanceNow);
  const before = performance.now();
  time.tick(60_000);
  assert.ok(performance.now() - before < 60_000, "performance.now() moved");
});

Deno.test("FakeTime starts at the real time unless given a start", () => {
  const before = real.Date.now();
  {
    using time = new FakeTime();
    assert.ok(time.start >= before && time.start <= real.Date.now());
    assert.equal(Date.now(), time.now);
    time.tick(1_500);
    assert.equal(Date.now(), time.start + 1_500);
  }
  assert.throws(() => new FakeTime("not a date"), TimeError);
  using time = new FakeTime("2026-01-01T00:00:00Z");
  assert.equal(time.now, Date.UTC(2026, 0, 1));
});

Deno.test("FakeTime runs timers and AbortSignal.timeout at their fake time, to the fraction", async () => {
  using time = new FakeTime(0);
  const fired: number[] = [];
  setTimeout(() => fired.push(time.now), 1_000);
  const interval = setInterval(() => fired.push(time.now), 400);
  const signal = AbortSignal.timeout(700);
  await time.tickAsync(999.5);
  assert.equal(time.now, 999.5);
  assert.deepEqual(fired, [400, 800]);
  assert.equal(signal.aborted, true);
  assert.equal((signal.reason as DOMException).name, "TimeoutError");
  clearInterval(interval);
  await time.tickAsync(0.5);
  assert.deepEqual(fired, [400, 800, 1_000]);
  assert.equal(time.next(), false);
});

Deno.test("FakeTime restores once: a second restore is an error", () => {
  const time = new FakeTime();
  time.restore();
  assert.throws(() => time.restore(), TimeError);
});
