/**
 * What the running service loads, as its V8 inspector sees every module it
 * compiles, however it was imported (statically, dynamically, by a
 * dependency): a first CommonJS load, or a first `node:` module, which starts
 * Deno's Node compatibility layer, costs more than the rest of the start. So
 * before its ports open, and for as long as nobody scrapes `/metrics`, it
 * loads no `node:` module and no npm package but Hono. (With TLS, checking
 * the files loads `node:crypto`; these runs have none.) Read from the module
 * graph, every module it may ever load is Hono, `node:process` (for the
 * first scrape), `node:crypto` (for TLS files) and `node:dgram` (for UDP
 * echo, with `--udp` alone: src/echo/udp_echo.ts, imported dynamically).
 */
import assert from "node:assert/strict";
import { assertEchoes, connect } from "./_echo_client.ts";
import { inspect, INSPECT_FLAGS } from "./_inspector.ts";
import { LOOPBACK_ANY_PORT, ServiceProcess } from "./_service_process.ts";
import { test, TEST_TIME_LIMIT_MS } from "./_time_limit.ts";

/** The npm packages among `scripts`, by name, each once. */
function npmPackages(scripts: string[]): string[] {
  const names = scripts.flatMap((url) =>
    url.match(/\/npm\/[^/]+\/((?:@[^/]+\/)?[^/]+)\/\d[^/]*\//)?.[1] ?? []
  );
  return [...new Set(names)];
}

/** The `node:` modules among `scripts`. */
const nodeModules = (scripts: string[]) =>
  scripts.filter((url) => url.startsWith("node:"));

test("main.ts loads no node: module and no npm package but hono before its ports open, nor while serving until the first scrape, however imported", async () => {
  await using service = new ServiceProcess(LOOPBACK_ANY_PORT, {
    runFlags: INSPECT_FLAGS,
  });
  {
    await using inspector = await inspect(service);
    const ports = await service.ports();
    const atListening = await inspector.scriptsSoFar();
    assert.ok(
      atListening.some((url) => url.endsWith("/src/server.ts")),
      "the inspector saw the service's own modules load",
    );
    assert.deepEqual(nodeModules(atListening), []);
    assert.deepEqual(npmPackages(atListening), ["hono"]);

    // Served, then stopped, with no scrape: a load that a dynamic import
    // began at startup has had every chance to finish.
    using conn = await connect(ports.echo);
    await assertEchoes(conn, "hello");
    const health = await fetch(`http://127.0.0.1:${ports.http}/healthcheck`);
    assert.equal(await health.text(), "ok computer");
    service.kill("SIGTERM");
    const all = await inspector.allScripts();
    assert.deepEqual(nodeModules(all), []);
    assert.deepEqual(npmPackages(all), ["hono"]);
  }
  // Once the inspector has let it go.
  assert.equal((await service.status).code, 0);
});

interface Dependency {
  code?: { specifier: string };
  /** Whether every import of it here is a dynamic `import()`. */
  isDynamic?: boolean;
}
interface ModuleInfo {
  specifier: string;
  dependencies?: Dependency[];
}

/**
 * The specifiers of every module `entry` may ever load, however imported; or,
 * with `staticOnly`, those it loads before its first line runs.
 */
async function imports(
  entry: URL,
  { staticOnly = false } = {},
): Promise<Set<string>> {
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
      if (dependency.code && !(staticOnly && dependency.isDynamic)) {
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

test("the service ever loads only hono, node:process (on the first scrape), node:crypto (for TLS files) and node:dgram (for --udp)", async () => {
  const outside = [...await imports(MAIN)]
    .filter((specifier) => !specifier.startsWith("file:"));
  assert.deepEqual(
    outside.filter((specifier) => specifier.startsWith("node:")).sort(),
    ["node:crypto", "node:dgram", "node:process"],
  );
  assert.deepEqual(packages(outside), ["hono"]);
});

test("node:dgram is loaded only through a dynamic import, the one that --udp makes", async () => {
  const all = await imports(MAIN);
  const atStart = await imports(MAIN, { staticOnly: true });
  assert.ok(all.has("node:dgram"));
  assert.ok(!atStart.has("node:dgram"), "node:dgram is imported statically");
  const udpEcho = new URL("../src/echo/udp_echo.ts", import.meta.url).href;
  assert.ok(all.has(udpEcho) && !atStart.has(udpEcho));
});
