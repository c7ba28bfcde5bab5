import assert from "node:assert/strict";
import { abortOnSignals } from "../src/shutdown_signals.ts";

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
  fn: (shutdown: AbortController, forced: Promise<number>) => Promise<void>,
): Promise<void> {
  const shutdown = new AbortController();
  const forced = Promise.withResolvers<number>();
  const remove = abortOnSignals(shutdown, forced.resolve);
  const keepAlive = setInterval(() => {}, 60_000);
  try {
    await fn(shutdown, forced.promise);
  } finally {
    clearInterval(keepAlive);
    remove();
  }
}

Deno.test("abortOnSignals() aborts on SIGTERM and forces exit 143 on a second", async () => {
  await withListeners(async (shutdown, forced) => {
    Deno.kill(Deno.pid, "SIGTERM");
    await aborted(shutdown.signal);
    assert.equal(shutdown.signal.reason, "SIGTERM");
    Deno.kill(Deno.pid, "SIGTERM");
    assert.equal(await forced, 143);
  });
});

Deno.test("abortOnSignals() forces exit on a signal when shutdown began another way", async () => {
  await withListeners(async (shutdown, forced) => {
    shutdown.abort("POST /die");
    Deno.kill(Deno.pid, "SIGTERM");
    assert.equal(await forced, 143);
    assert.equal(shutdown.signal.reason, "POST /die");
  });
});
