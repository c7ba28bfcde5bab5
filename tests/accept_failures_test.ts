/**
 * What every accept loop does when `accept()` fails (both ports share it): a
 * shortage backs off 10, 20, 40 ... 640 ms, then 1 s each time, starting over
 * after a good accept; any other failure is one client's and is retried at
 * once. Each pause is timed on the fake clock, as the fake millisecond its
 * promise settled at.
 */
import assert from "node:assert/strict";
import { AcceptFailures } from "../src/net/accept_failures.ts";
import { createMetrics } from "../src/metrics.ts";
import { FakeTime } from "./_fake_time.ts";
import { LineCapture } from "./_line_capture.ts";
import { settledAt, settlement } from "./_settlement.ts";
import { withinTimeLimit } from "./_time_limit.ts";

/** An accept failure as Deno reports it, with its errno name as `code`. */
function osError(code: string): Error {
  return Object.assign(new Error(`os error (${code})`), { code });
}

function failures(signal = new AbortController().signal) {
  return new AcceptFailures({
    counter: createMetrics().echo.acceptErrors,
    logger: new LineCapture().logger,
    signal,
  });
}

/**
 * How long each of `count` failures in a row with `code` pauses, in fake
 * milliseconds: each pause is run out on the fake clock.
 */
async function pausesOf(
  time: FakeTime,
  accept: AcceptFailures,
  code: string,
  count: number,
): Promise<number[]> {
  const pauses: number[] = [];
  for (let i = 0; i < count; i++) {
    const began = time.now - time.start;
    const pause = accept.failed(osError(code));
    assert.ok(pause, `${code} did not back off`);
    pauses.push(await settledAt(pause, time) - began);
  }
  return pauses;
}

Deno.test("AcceptFailures backs off 10, 20, 40 ... 640 ms, then 1 s each time, while descriptors run out", async () => {
  using time = new FakeTime(0);
  const accept = failures();
  assert.deepEqual(
    await pausesOf(time, accept, "EMFILE", 10),
    [10, 20, 40, 80, 160, 320, 640, 1_000, 1_000, 1_000],
  );
});

Deno.test("AcceptFailures starts the back-off over at 10 ms after a good accept", async () => {
  using time = new FakeTime(0);
  const accept = failures();
  assert.deepEqual(await pausesOf(time, accept, "EMFILE", 3), [10, 20, 40]);
  accept.succeeded();
  assert.deepEqual(await pausesOf(time, accept, "EMFILE", 2), [10, 20]);
});

Deno.test("AcceptFailures backs off alike for EMFILE, ENFILE, ENOBUFS and ENOMEM, and the shortage kinds share one back-off", async () => {
  for (const code of ["EMFILE", "ENFILE", "ENOBUFS", "ENOMEM"]) {
    using time = new FakeTime(0);
    assert.deepEqual(
      await pausesOf(time, failures(), code, 3),
      [10, 20, 40],
      code,
    );
  }
  using time = new FakeTime(0);
  const accept = failures();
  assert.deepEqual(await pausesOf(time, accept, "ENFILE", 2), [10, 20]);
  assert.deepEqual(await pausesOf(time, accept, "EMFILE", 1), [40]);
});

Deno.test("AcceptFailures takes any other failure as one client's: no pause, and the back-off goes on where it was", async () => {
  using time = new FakeTime(0);
  const accept = failures();
  assert.deepEqual(await pausesOf(time, accept, "EMFILE", 2), [10, 20]);
  for (const code of ["ENOTCONN", "ECONNABORTED", "EPROTO", "unknown"]) {
    assert.equal(accept.failed(osError(code)), undefined, code);
  }
  assert.deepEqual(await pausesOf(time, accept, "EMFILE", 1), [40]);
});

Deno.test("AcceptFailures ends a pause the moment shutdown begins, the fake clock standing still", async () => {
  using time = new FakeTime(0);
  const shutdown = new AbortController();
  const accept = failures(shutdown.signal);
  await pausesOf(time, accept, "EMFILE", 7); // the next pause is 1 s
  const pause = accept.failed(osError("EMFILE"))!;
  const ended = settlement(pause, time);
  await time.tickAsync(500);
  shutdown.abort();
  await withinTimeLimit(pause, 1_000, "the pause, once aborted");
  const began = 10 + 20 + 40 + 80 + 160 + 320 + 640;
  assert.equal(ended.at, began + 500);
  // And once shut down, a shortage pauses no more.
  const after = settlement(accept.failed(osError("EMFILE"))!, time);
  await time.runMicrotasks();
  assert.equal(after.at, began + 500);
});
