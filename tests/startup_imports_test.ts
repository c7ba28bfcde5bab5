// What the service loads before its ports open: the modules main.ts reaches
// through static imports. A first `node:` module, which starts Deno's Node
// compatibility layer, costs more than the rest of the start, so the two the
// service uses are loaded only where they are needed: node:process on the
// first scrape of /metrics, node:crypto when TLS files are checked. Nothing
// else from outside is ever loaded but Hono.
import assert from "node:assert/strict";
import { test, TEST_TIME_LIMIT_MS } from "./_time_limit.ts";

interface Dependency {
  code?: { specifier: string };
  isDynamic?: boolean;
}
interface ModuleInfo {
  specifier: string;
  dependencies?: Dependency[];
}

/**
 * The specifiers of every module `entry` loads before it runs, or with
 * `dynamic`, every module it may ever load.
 */
async function imports(entry: URL, dynamic = false): Promise<Set<string>> {
  const { success, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry.pathname],
    signal: AbortSignal.timeout(TEST_TIME_LIMIT_MS),
  }).output();
  assert.ok(success, new TextDecoder().decode(stderr));
  const { roots, modules } = JSON.parse(new TextDecoder().decode(stdout)) as {
    roots: string[];
    modules: ModuleInfo[];
  };
  const byName = new Map(modules.map((module) => [module.specifier, module]));
  const loaded = new Set<string>();
  const visit = (specifier: string) => {
    if (loaded.has(specifier)) return;
    loaded.add(specifier);
    for (const dependency of byName.get(specifier)?.dependencies ?? []) {
      if (dependency.code && (dynamic || !dependency.isDynamic)) {
        visit(dependency.code.specifier);
      }
    }
  };
  roots.forEach(visit);
  return loaded;
}

const MAIN = new URL("../main.ts", import.meta.url);

/** The packages among `specifiers`, by name, each once. */
function packages(specifiers: string[]): string[] {
  return [
    ...new Set(
      specifiers.filter((specifier) => specifier.startsWith("npm:"))
        .map((specifier) => specifier.match(/^npm:\/?([^@/]+)/)![1]),
    ),
  ];
}

test("main.ts loads no node: module before it listens, and no package but hono", async () => {
  const loaded = [...await imports(MAIN)];
  const outside = loaded.filter((specifier) => !specifier.startsWith("file:"));
  assert.deepEqual(
    outside.filter((specifier) => specifier.startsWith("node:")),
    [],
  );
  assert.deepEqual(packages(outside), ["hono"]);
});

test("the service ever loads only hono, node:process (on the first scrape) and node:crypto (for TLS files)", async () => {
  const outside = [...await imports(MAIN, true)]
    .filter((specifier) => !specifier.startsWith("file:"));
  assert.deepEqual(
    outside.filter((specifier) => specifier.startsWith("node:")).sort(),
    ["node:crypto", "node:process"],
  );
  assert.deepEqual(packages(outside), ["hono"]);
});
