import assert from "node:assert/strict";
import {
  type AttachOptions,
  ProcessSignals,
} from "../src/process/process_signals.ts";
import { FakeTime } from "./_fake_time.ts";
import { LineCapture } from "./_line_capture.ts";
import { stub } from "./_stub.ts";
import { test } from "./_time_limit.ts";
import { TimeoutListeners } from "./_timeout_listeners.ts";

/** The real interval timer, whatever fake clock a test installs. */
const { setInterval, clearInterval } = globalThis;

/**
 * Sends `signal` to this process and resolves once every listener added
 * before this call has run: Deno runs a signal's listeners in the order they
 * were added, so a listener added last tells when the others are done.
 */
function deliver(signal: Deno.Signal): Promise<void> {
  const { promise, resolve } = Promise.withResolvers<void>();
  const listener = () => {
    Deno.removeSignalListener(signal, listener);
    resolve();
  };
  Deno.addSignalListener(signal, listener);
  Deno.kill(Deno.pid, signal);
  return promise;
}

/**
 * Runs `fn` with the listeners installed and, unless `options` is null,
 * handed a service. Signal listeners do not keep the event loop alive, so a
 * timer does while the signals are on their way. SIGINT is never sent: the
 * test runner keeps it for itself; main.ts's tests send it to a real process.
 */
async function withSignals(
  options: Omit<AttachOptions, "logger"> | null,
  fn: (context: {
    shutdown: AbortController;
    forced: number[];
    log: LineCapture;
  }) => Promise<void>,
): Promise<void> {
  const shutdown = new AbortController();
  const forced: number[] = [];
  const log = new LineCapture();
  using signals = new ProcessSignals((code) => forced.push(code));
  if (options !== null) {
    signals.attach(shutdown, { ...options, logger: log.logger });
  }
  const keepAlive = setInterval(() => {}, 60_000);
  try {
    await fn({ shutdown, forced, log });
  } finally {
    clearInterval(keepAlive);
    shutdown.abort("test over");
  }
}

test("ProcessSignals aborts on SIGTERM and forces exit 143 on a second", async () => {
  await withSignals({}, async ({ shutdown, forced }) => {
    await deliver("SIGTERM");
    assert.equal(shutdown.signal.reason, "SIGTERM");
    assert.deepEqual(forced, []);
    await deliver("SIGTERM");
    assert.deepEqual(forced, [143]);
  });
});

test("ProcessSignals stops at once on SIGQUIT and SIGHUP, and a second forces exit 131 or 129", async () => {
  for (const [signal, code] of [["SIGQUIT", 131], ["SIGHUP", 129]] as const) {
    await withSignals(
      { delayMs: 10_000 },
      async ({ shutdown, forced }) => {
        await deliver(signal);
        assert.equal(shutdown.signal.reason, signal);
        await deliver(signal);
        assert.deepEqual(forced, [code]);
      },
    );
  }
});

test("ProcessSignals forces exit on a signal when shutdown began another way", async () => {
  await withSignals({}, async ({ shutdown, forced }) => {
    shutdown.abort("POST /die");
    await deliver("SIGTERM");
    assert.deepEqual(forced, [143]);
    assert.equal(shutdown.signal.reason, "POST /die");
  });
});

test("ProcessSignals before the service runs ends the process at once on a stopping signal", async () => {
  await withSignals(null, async ({ shutdown, forced }) => {
    await deliver("SIGTERM");
    await deliver("SIGQUIT");
    await deliver("SIGHUP");
    assert.deepEqual(forced, [143, 131, 129]);
    assert.equal(shutdown.signal.aborted, false);
  });
});

test("ProcessSignals ignores SIGUSR1, SIGUSR2 and SIGALRM, silently before the service runs", async () => {
  await withSignals(null, async ({ shutdown, forced, log }) => {
    for (const signal of ["SIGUSR1", "SIGUSR2", "SIGALRM"] as const) {
      await deliver(signal);
    }
    assert.deepEqual(forced, []);
    assert.equal(shutdown.signal.aborted, false);
    assert.deepEqual(log.lines, []);
  });
});

test("ProcessSignals logs each ignored signal at most once a second, each signal apart", async () => {
  using time = new FakeTime();
  using _now = stub(performance, "now", () => time.now);
  await withSignals({}, async ({ shutdown, forced, log }) => {
    for (const signal of ["SIGUSR1", "SIGUSR2", "SIGALRM"] as const) {
      for (let i = 0; i < 3; i++) await deliver(signal);
    }
    assert.deepEqual(log.lines, [
      "warning: signal ignored signal=SIGUSR1",
      "warning: signal ignored signal=SIGUSR2",
      "warning: signal ignored signal=SIGALRM",
    ]);
    await time.tickAsync(999);
    await time.runMicrotasks();
    assert.equal(log.lines.length, 3);
    await time.tickAsync(1);
    await time.runMicrotasks();
    assert.deepEqual(log.lines.slice(3).sort(), [
      "warning: signal ignored signal=SIGALRM held_back=1",
      "warning: signal ignored signal=SIGUSR1 held_back=1",
      "warning: signal ignored signal=SIGUSR2 held_back=1",
    ]);
    assert.deepEqual(forced, []);
    assert.equal(shutdown.signal.aborted, false);
  });
});

test("ProcessSignals after SIGTERM drains at once and aborts shutdown after the delay", async () => {
  using time = new FakeTime();
  const draining = new AbortController();
  await withSignals(
    { draining, delayMs: 10_000 },
    async ({ shutdown, log }) => {
      await deliver("SIGTERM");
      assert.equal(draining.signal.reason, "SIGTERM");
      assert.deepEqual(log.lines, [
        "info: draining: /readyz answers 503 until shutdown reason=SIGTERM shutdown_in_s=10",
      ]);
      await time.tickAsync(9_999);
      assert.equal(shutdown.signal.aborted, false);
      await time.tickAsync(1);
      assert.equal(shutdown.signal.reason, "SIGTERM");
    },
  );
});

test("ProcessSignals during the delay forces exit on a second signal", async () => {
  using _time = new FakeTime();
  const draining = new AbortController();
  await withSignals(
    { draining, delayMs: 10_000 },
    async ({ shutdown, forced }) => {
      await deliver("SIGTERM");
      await deliver("SIGQUIT");
      assert.deepEqual(forced, [131]);
      assert.equal(shutdown.signal.aborted, false);
    },
  );
});

test("ProcessSignals lets shutdown begun another way cut the delay short, its timer let go by the model of Deno's keep-alive rule", async () => {
  using _time = new FakeTime();
  using timeouts = new TimeoutListeners();
  const draining = new AbortController();
  await withSignals({ draining, delayMs: 10_000 }, async ({ shutdown }) => {
    await deliver("SIGTERM");
    assert.equal(timeouts.keepingAlive, 1);
    shutdown.abort("POST /die");
    assert.equal(timeouts.keepingAlive, 0, "the delay outlived shutdown");
    assert.equal(shutdown.signal.reason, "POST /die");
  });
});

test("ProcessSignals once disposed leaves the signals alone", async () => {
  const forced: number[] = [];
  const signals = new ProcessSignals((code) => forced.push(code));
  signals[Symbol.dispose]();
  // Another listener keeps SIGTERM from ending the test run.
  await deliver("SIGTERM");
  assert.deepEqual(forced, []);
});
