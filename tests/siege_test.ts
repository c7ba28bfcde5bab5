/**
 * A short siege (`bench/siege.ts`, whose 30 s run is `deno task siege`):
 * under --nofile=256, silent TLS clients and slowloris HTTPS clients, cut at
 * their 1 s deadlines and reconnecting, stop no fresh echo client or health
 * check from being served within a second, and the descriptors come back.
 */
import assert from "node:assert/strict";
import { test } from "./_time_limit.ts";

const ROOT = new URL("..", import.meta.url).pathname;

test(
  "a short siege of silent TLS and slowloris HTTPS clients stops no fresh client, and leaves no descriptor behind",
  async () => {
    const { code, stdout } = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-run",
        "--allow-net",
        "--allow-read",
        "--allow-write",
        "--allow-env",
        "bench/siege.ts",
        ...["--seconds", "6", "--attackers", "300"],
      ],
      cwd: ROOT,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "inherit",
    }).output();
    const report = new TextDecoder().decode(stdout);
    assert.equal(code, 0, report);
    assert.match(report, /^echo probes: 4 of 4 served/m);
    assert.match(report, /^health probes: 4 of 4 served/m);
    assert.match(
      report,
      /^sockets: (\d+) before, at most \d+ during, \1 after/m,
    );
    assert.match(report, /^siege: held$/m);
  },
  40_000,
);
