import assert from "node:assert/strict";
import { abortOnSignals, type SignalOptions } from "../src/process_signals.ts";
import { FakeTime } from "./_fake_time.ts";
import { LineCapture } from "./_line_capture.ts";
import { test } from "./_time_limit.ts";
import { TimeoutListeners } from "./_timeout_listeners.ts";

/** The real interval timer, whatever fake clock a test installs. */
const { setInterval, clearInterval } = globalThis;

/** Resolves once `signal` has aborted. */
function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) =>
    signal.addEventListener("abort", () => resolve())
  );
}

/**
 * Runs `fn` with the listeners installed. Signal listeners do not keep the
 * event loop alive, so a timer does while the signals are on their way. Only
 * SIGTERM is sent: the test runner keeps SIGINT for itself; main.ts's tests
 * send both to a real process.
 */
async function withListeners(
  options: Omit<SignalOptions, "forceExit">,
  fn: (shutdown: AbortController, forced: Promise<number>) => Promise<void>,
): Promise<void> {
  const shutdown = new AbortController();
  const forced = Promise.withResolvers<number>();
  const remove = abortOnSignals(shutdown, {
    ...options,
    forceExit: forced.resolve,
  });
  const keepAlive = setInterval(() => {}, 60_000);
  try {
    await fn(shutdown, forced.promise);
  } finally {
    clearInterval(keepAlive);
    remove();
  }
}

test("abortOnSignals() aborts on SIGTERM and forces exit 143 on a second", async () => {
  await withListeners({}, async (shutdown, forced) => {
    Deno.kill(Deno.pid, "SIGTERM");
    await aborted(shutdown.signal);
    assert.equal(shutdown.signal.reason, "SIGTERM");
    Deno.kill(Deno.pid, "SIGTERM");
    assert.equal(await forced, 143);
  });
});

test("abortOnSignals() forces exit on a signal when shutdown began another way", async () => {
  await withListeners({}, async (shutdown, forced) => {
    shutdown.abort("POST /die");
    Deno.kill(Deno.pid, "SIGTERM");
    assert.equal(await forced, 143);
    assert.equal(shutdown.signal.reason, "POST /die");
  });
});

test("abortOnSignals() after SIGTERM drains at once and aborts shutdown after the delay", async () => {
  using time = new FakeTime();
  const draining = new AbortController();
  const log = new LineCapture();
  const options = { draining, delayMs: 10_000, logger: log.logger };
  await withListeners(options, async (shutdown) => {
    Deno.kill(Deno.pid, "SIGTERM");
    await aborted(draining.signal);
    assert.deepEqual(log.lines, [
      "info: draining: /readyz answers 503 until shutdown reason=SIGTERM shutdown_in_s=10",
    ]);
    await time.tickAsync(9_999);
    assert.equal(shutdown.signal.aborted, false);
    await time.tickAsync(1);
    assert.equal(shutdown.signal.reason, "SIGTERM");
  });
});

test("abortOnSignals() during the delay forces exit on a second SIGTERM", async () => {
  using _time = new FakeTime();
  const draining = new AbortController();
  await withListeners(
    { draining, delayMs: 10_000 },
    async (shutdown, forced) => {
      Deno.kill(Deno.pid, "SIGTERM");
      await aborted(draining.signal);
      Deno.kill(Deno.pid, "SIGTERM");
      assert.equal(await forced, 143);
      assert.equal(shutdown.signal.aborted, false);
    },
  );
});

test("abortOnSignals() lets shutdown begun another way cut the delay short", async () => {
  using _time = new FakeTime();
  using timeouts = new TimeoutListeners();
  const draining = new AbortController();
  await withListeners({ draining, delayMs: 10_000 }, async (shutdown) => {
    Deno.kill(Deno.pid, "SIGTERM");
    await aborted(draining.signal);
    assert.equal(timeouts.keepingAlive, 1);
    shutdown.abort("POST /die");
    assert.equal(timeouts.keepingAlive, 0, "the delay outlived shutdown");
    assert.equal(shutdown.signal.reason, "POST /die");
  });
});
