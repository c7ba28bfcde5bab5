// One version everywhere: the latest release in CHANGELOG.md, deno.json's
// version, and what `echoserver --version` prints.
import assert from "node:assert/strict";
import denoJson from "../deno.json" with { type: "json" };
import { test, TEST_TIME_LIMIT_MS } from "./_time_limit.ts";

/** The versions of CHANGELOG.md's releases, newest first, as its headings name them. */
function releases(changelog: string): string[] {
  return [
    ...changelog.matchAll(/^## \[(\d+\.\d+\.\d+)\] - \d{4}-\d{2}-\d{2}$/gm),
  ]
    .map(([, version]) => version);
}

/** Whether version `a` comes after version `b`. */
function isLater(a: string, b: string): boolean {
  const [x, y] = [a, b].map((version) => version.split(".").map(Number));
  const i = x.findIndex((part, i) => part !== y[i]);
  return i !== -1 && x[i] > y[i];
}

Deno.test("releases() reads Keep a Changelog's headings, and isLater() orders versions by number", () => {
  assert.deepEqual(
    releases(
      "# Changelog\n\n## [1.10.0] - 2027-01-02\n\n### Added\n\n## [1.9.1] - 2026-12-31\n",
    ),
    ["1.10.0", "1.9.1"],
  );
  assert.equal(isLater("1.10.0", "1.9.1"), true);
  assert.equal(isLater("1.9.1", "1.10.0"), false);
  assert.equal(isLater("1.2.0", "1.2.0"), false);
});

test("CHANGELOG.md's latest release, deno.json's version and --version agree, and the releases go newest first", async () => {
  const changelog = await Deno.readTextFile(
    new URL("../CHANGELOG.md", import.meta.url),
  );
  const versions = releases(changelog);
  assert.ok(versions.length > 0, "CHANGELOG.md names no release");
  assert.equal(versions[0], denoJson.version);
  for (let i = 1; i < versions.length; i++) {
    assert.ok(isLater(versions[i - 1], versions[i]), versions.join(" "));
  }
  const { success, stdout } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-env", "main.ts", "--version"],
    cwd: new URL("..", import.meta.url),
    env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
    signal: AbortSignal.timeout(TEST_TIME_LIMIT_MS),
  }).output();
  assert.ok(success);
  assert.equal(
    new TextDecoder().decode(stdout),
    `echoserver ${denoJson.version}\n`,
  );
});
