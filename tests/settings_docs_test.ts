// Every setting --help lists is in the README's settings table, with its
// variable and default, and is described somewhere under docs/.
import assert from "node:assert/strict";
import { usage } from "../src/settings/config.ts";

const read = (path: string) =>
  Deno.readTextFile(new URL(`../${path}`, import.meta.url));

/** Each setting in --help: its flag as written, its variable, its default. */
function helpSettings(): { flag: string; env: string; default: string }[] {
  const text = usage();
  const settings = [];
  for (const match of text.matchAll(/^ {2}(--\S+(?: [A-Z]+)?) .*$/gm)) {
    const after = text.slice(match.index! + match[0].length);
    const env = after.match(/^\s+env (\S+), default (.+)$/m);
    if (env) settings.push({ flag: match[1], env: env[1], default: env[2] });
  }
  return settings;
}

/** The README's settings table: flag, variable and default, as written. */
async function readmeRows(): Promise<Map<string, [string, string]>> {
  const rows = new Map<string, [string, string]>();
  for (const line of (await read("README.md")).split("\n")) {
    const cells = line.match(/^\| `(--[^`]+)` +\| `([^`]+)` +\| (.+?) +\|$/);
    if (cells) rows.set(cells[1], [cells[2], cells[3]]);
  }
  return rows;
}

Deno.test("every setting in --help is in the README's settings table, with its variable and default", async () => {
  const settings = helpSettings();
  assert.ok(settings.length >= 23, `${settings.length} settings found`);
  const rows = await readmeRows();
  assert.deepEqual(
    [...rows.keys()].toSorted(),
    settings.map(({ flag }) => flag).toSorted(),
  );
  for (const setting of settings) {
    const [env, shown] = rows.get(setting.flag)!;
    assert.equal(env, setting.env, setting.flag);
    const expected = setting.default === "none"
      ? "none"
      : setting.default.startsWith("the ")
      ? setting.default.slice(4)
      : `\`${setting.default}\``;
    assert.equal(shown, expected, setting.flag);
  }
});

Deno.test("every setting in --help is described under docs/ or in deploy/README.md", async () => {
  const pages = await Promise.all(
    [
      ...[...Deno.readDirSync(new URL("../docs/", import.meta.url))]
        .map(({ name }) => `docs/${name}`),
      "deploy/README.md",
    ].map(read),
  );
  for (const { flag } of helpSettings()) {
    const name = flag.split(" ")[0];
    assert.ok(
      pages.some((page) => new RegExp(`${name}(?![\\w-])`).test(page)),
      `${name} is described under docs/`,
    );
  }
});
