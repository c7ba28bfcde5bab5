/**
 * The real thing that `tests/_timeout_listeners.ts` models: a process whose
 * timers the service has let go of ends by itself at once. Each script runs
 * in a process of its own, says `done` when its work is over, and must then
 * exit within a second, where a timer still held would keep it 2 s (the
 * health check's) to 60 s longer.
 */
import assert from "node:assert/strict";
import { collect } from "./_service_process.ts";
import { LineCapture } from "./_line_capture.ts";
import { test, withinTimeLimit } from "./_time_limit.ts";

const SRC = new URL("../src/", import.meta.url).href;

/**
 * Runs `script` (a module that imports from `SRC` and prints `done` when its
 * work is over) as its own process, and asserts that it exits by itself, with
 * 0, within a second of `done`.
 */
async function assertExitsAtOnce(script: string): Promise<void> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", "--quiet", script],
    env: { NO_COLOR: "1", SRC },
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const output = new LineCapture();
  const collected = collect(child.stdout, output);
  try {
    await output.waitFor("done");
    const { code } = await withinTimeLimit(
      child.status,
      1_000,
      "exit after done",
    );
    assert.equal(code, 0);
  } finally {
    try {
      child.kill("SIGKILL");
    } catch {
      // Exited.
    }
    await child.status;
    await collected;
  }
}

test("a process exits at once once its last idle deadline is cleared", async () => {
  await assertExitsAtOnce(`
    const { Deadlines } = await import(Deno.env.get("SRC") + "waiting/deadlines.ts");
    const deadlines = new Deadlines();
    const a = deadlines.set(60_000, () => {});
    const b = deadlines.set(30_000, () => {});
    a.reset(5_000);
    for (let i = 0; i < 100; i++) deadlines.set(5_000, () => {}).clear();
    a.clear();
    b.clear();
    console.log("done");
  `);
});

test("a process exits at once once a pause is cut short", async () => {
  await assertExitsAtOnce(`
    const { pause } = await import(Deno.env.get("SRC") + "waiting/pause.ts");
    const shutdown = new AbortController();
    const paused = pause(60_000, shutdown.signal);
    shutdown.abort();
    await paused;
    console.log("done");
  `);
});

test("a process exits at once once a health check is answered", async () => {
  await assertExitsAtOnce(`
    const { checkHealth } = await import(Deno.env.get("SRC") + "process/health_check.ts");
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      () => new Response("ok computer"),
    );
    await checkHealth(new URL("http://127.0.0.1:" + server.addr.port + "/healthcheck"));
    await server.shutdown();
    console.log("done");
  `);
});
