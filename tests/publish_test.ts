// What `deno publish` would put on JSR: the service and what a user of it
// reads (its README, its changelog, its licence), and nothing the repository keeps for
// itself (tests, bench, deploy/, .ci/). The dry run also checks the package's
// metadata, such as the licence, and its public API for slow types.
import assert from "node:assert/strict";
import { test, TEST_TIME_LIMIT_MS } from "./_time_limit.ts";

const ROOT = new URL("..", import.meta.url);

/** Every file under `dir`, as paths from the repository's root. */
async function filesUnder(dir: string): Promise<string[]> {
  const files: string[] = [];
  for await (const entry of Deno.readDir(new URL(dir, ROOT))) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) files.push(...await filesUnder(path));
    else files.push(path);
  }
  return files;
}

test("deno publish --dry-run passes and publishes main.ts, src/, README.md, CHANGELOG.md, LICENSE and deno.json, nothing else", async () => {
  const { success, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    // --allow-dirty: a work tree with changes is checked too.
    args: ["publish", "--dry-run", "--allow-dirty"],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    signal: AbortSignal.timeout(TEST_TIME_LIMIT_MS),
  }).output();
  const output = new TextDecoder().decode(stdout) +
    new TextDecoder().decode(stderr);
  assert.ok(success, output);
  const published = output.matchAll(/^\s+(file:\S+) \(/gm)
    .map(([, url]) => url.slice(ROOT.href.length)).toArray().sort();
  const expected = [
    "CHANGELOG.md",
    "LICENSE",
    "README.md",
    "deno.json",
    "main.ts",
  ]
    .concat(await filesUnder("src")).sort();
  assert.deepEqual(published, expected);
});

Deno.test("deno.json names the licence that LICENSE holds", async () => {
  const { license } = JSON.parse(
    await Deno.readTextFile(new URL("deno.json", ROOT)),
  );
  const text = await Deno.readTextFile(new URL("LICENSE", ROOT));
  assert.equal(license, "MIT");
  assert.equal(text.split("\n")[0], "MIT License");
});
