// Dependencies point one way: the process (main.ts) -> the server (src/*.ts)
// -> the settings -> the WebSocket echo (websocket/, which takes connections
// from http/ and keeps echo/'s timeouts) -> the two sides, echo/ and http/
// -> what connections share (net/) -> what the service says about itself
// (observability/) -> how it waits (waiting/). A module imports from its own folder or from a layer
// below, never from above and never, between echo/ and http/, from the
// other side; and no modules import each other in a circle, not even for a
// type. The graph is Deno's own, read from `deno info --json main.ts`, type
// imports and dynamic imports included.
import assert from "node:assert/strict";
import { test, TEST_TIME_LIMIT_MS } from "./_time_limit.ts";

/**
 * The layers, top first, each with the folders and files it holds; the parts
 * of a layer that is `apart`, the two sides, do not import each other.
 */
const LAYERS: readonly { parts: readonly string[]; apart?: boolean }[] = [
  { parts: ["main.ts", "src/process/"] },
  { parts: ["src/server.ts", "src/metrics.ts", "src/version.ts"] },
  { parts: ["src/settings/"] },
  { parts: ["src/websocket/"] },
  { parts: ["src/echo/", "src/http/"], apart: true },
  { parts: ["src/net/"] },
  { parts: ["src/observability/"] },
  { parts: ["src/waiting/"] },
];

/** One import: which module imports which, both as paths from the root. */
interface Import {
  from: string;
  to: string;
}

/** The layer of `path` (0 at the top) and the folder or file that put it there. */
function placeOf(path: string): { layer: number; part: string } | undefined {
  for (const [layer, { parts }] of LAYERS.entries()) {
    const part = parts.find((part) =>
      part.endsWith("/") ? path.startsWith(part) : path === part
    );
    if (part !== undefined) return { layer, part };
  }
  return undefined;
}

/** What is wrong with each import, one line each: upward, sideways, or unplaced. */
function wrongWays(imports: readonly Import[]): string[] {
  const problems: string[] = [];
  for (const { from, to } of imports) {
    const [source, target] = [placeOf(from), placeOf(to)];
    if (source === undefined || target === undefined) {
      problems.push(`${from} -> ${to}: ${source ? to : from} is in no layer`);
    } else if (target.layer < source.layer) {
      problems.push(`${from} -> ${to}: imports from a layer above`);
    } else if (
      target.part !== source.part && target.layer === source.layer &&
      LAYERS[source.layer].apart
    ) {
      problems.push(`${from} -> ${to}: imports from the other side`);
    }
  }
  return problems;
}

/** Each circle of modules that import each other, as `a -> b -> a`. */
function circles(imports: readonly Import[]): string[] {
  const next = Map.groupBy(imports, ({ from }) => from);
  const state = new Map<string, "visiting" | "done">();
  const path: string[] = [];
  const found: string[] = [];
  const visit = (module: string) => {
    if (state.get(module) === "done") return;
    if (state.get(module) === "visiting") {
      found.push([...path.slice(path.indexOf(module)), module].join(" -> "));
      return;
    }
    state.set(module, "visiting");
    path.push(module);
    for (const { to } of next.get(module) ?? []) visit(to);
    path.pop();
    state.set(module, "done");
  };
  [...next.keys()].sort().forEach(visit);
  return found;
}

interface ModuleInfo {
  specifier: string;
  dependencies?: {
    code?: { specifier: string };
    type?: { specifier: string };
  }[];
}

const ROOT = new URL("..", import.meta.url);

/** Every import among the project's own modules that main.ts reaches. */
async function projectImports(): Promise<{
  modules: string[];
  imports: Import[];
}> {
  const { success, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "main.ts"],
    cwd: ROOT,
    signal: AbortSignal.timeout(TEST_TIME_LIMIT_MS),
  }).output();
  assert.ok(success, new TextDecoder().decode(stderr));
  const { modules } = JSON.parse(new TextDecoder().decode(stdout)) as {
    modules: ModuleInfo[];
  };
  const own = (specifier: string) =>
    specifier.startsWith(ROOT.href) && !specifier.endsWith(".json")
      ? specifier.slice(ROOT.href.length)
      : undefined;
  const imports: Import[] = [];
  const reached: string[] = [];
  for (const module of modules) {
    const from = own(module.specifier);
    if (from === undefined) continue;
    reached.push(from);
    for (const dependency of module.dependencies ?? []) {
      for (const target of [dependency.code, dependency.type]) {
        const to = target && own(target.specifier);
        if (to !== undefined) imports.push({ from, to });
      }
    }
  }
  return { modules: reached.sort(), imports };
}

/** Every .ts file under src/, as paths from the root. */
async function sourceFiles(dir = "src"): Promise<string[]> {
  const files: string[] = [];
  for await (const entry of Deno.readDir(new URL(dir, ROOT))) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) files.push(...await sourceFiles(path));
    else if (entry.name.endsWith(".ts")) files.push(path);
  }
  return files.sort();
}

Deno.test("wrongWays() reports an import from a layer above, from the other side, and from a module in no layer", () => {
  assert.deepEqual(
    wrongWays([
      { from: "main.ts", to: "src/server.ts" },
      { from: "main.ts", to: "src/process/process_signals.ts" },
      { from: "src/echo/echo.ts", to: "src/echo/echo_stream.ts" },
      { from: "src/http/serve_http.ts", to: "src/waiting/pause.ts" },
      { from: "src/observability/metrics_text.ts", to: "src/echo/echo.ts" },
      { from: "src/echo/serve_echo.ts", to: "src/http/handler.ts" },
      { from: "src/server.ts", to: "src/stray.ts" },
    ]),
    [
      "src/observability/metrics_text.ts -> src/echo/echo.ts: imports from a layer above",
      "src/echo/serve_echo.ts -> src/http/handler.ts: imports from the other side",
      "src/server.ts -> src/stray.ts: src/stray.ts is in no layer",
    ],
  );
});

Deno.test("circles() reports modules that import each other, however far round", () => {
  assert.deepEqual(
    circles([
      { from: "a.ts", to: "b.ts" },
      { from: "b.ts", to: "c.ts" },
      { from: "c.ts", to: "a.ts" },
      { from: "c.ts", to: "d.ts" },
    ]),
    ["a.ts -> b.ts -> c.ts -> a.ts"],
  );
  assert.deepEqual(circles([{ from: "a.ts", to: "b.ts" }]), []);
});

test("every module under src/ is reached from main.ts, and each import points down the layers, with no circle", async () => {
  const { modules, imports } = await projectImports();
  assert.deepEqual(
    modules.filter((path) => path.startsWith("src/")),
    await sourceFiles(),
  );
  assert.deepEqual(wrongWays(imports), []);
  assert.deepEqual(circles(imports), []);
});
