// What the service loads before its ports open: the modules main.ts reaches
// through static imports. A first CommonJS load (prom-client) or a first
// `node:` module, which starts Deno's Node compatibility layer, costs more than
// the rest of the start, so those are loaded only where they are needed:
// prom-client and node:process on the first scrape, node:crypto when TLS files
// are checked, node:dgram (with src/echo/udp_echo.ts) only with --udp.
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

/** The specifiers of every module `entry` loads before it runs. */
async function staticImports(entry: URL): Promise<Set<string>> {
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
      if (dependency.code && !dependency.isDynamic) {
        visit(dependency.code.specifier);
      }
    }
  };
  roots.forEach(visit);
  return loaded;
}

test("main.ts loads neither prom-client nor any node: module before it listens", async () => {
  const loaded = [
    ...await staticImports(new URL("../main.ts", import.meta.url)),
  ];
  const outside = loaded.filter((specifier) => !specifier.startsWith("file:"));
  assert.deepEqual(
    outside.filter((specifier) => specifier.startsWith("node:")),
    [],
  );
  const packages = outside.filter((specifier) => specifier.startsWith("npm:"))
    .map((specifier) => specifier.match(/^npm:\/?([^@/]+)/)![1]);
  assert.deepEqual([...new Set(packages)], ["hono"]);
});
