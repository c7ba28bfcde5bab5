// Every relative link and #anchor in the project's Markdown resolves: the file
// it names exists, and an anchor names a heading of that file, slugged as
// GitHub slugs headings. Links inside code are not links: marked's lexer
// tells them apart.
import assert from "node:assert/strict";
import GithubSlugger from "github-slugger";
import { Marked, type Token } from "marked";

/** The files a link may name, by path from the repository's root. */
interface Files {
  /** Whether a file or a folder is there. */
  exists(path: string): boolean;
  /** A Markdown file's text. */
  read(path: string): string;
}

/** A link or an image as written, and where it was written. */
interface Link {
  page: string;
  text: string;
  href: string;
}

const markdown = new Marked();

/** The plain text of inline tokens, as GitHub reads a heading for its slug. */
function plainText(tokens: Token[]): string {
  return tokens.map((token) => {
    if (token.type === "html" || token.type === "image") return "";
    if ("tokens" in token && token.tokens) return plainText(token.tokens);
    return "text" in token ? token.text : "";
  }).join("");
}

/** A page's links and images, and the anchors of its headings. */
function readPage(text: string) {
  const tokens = markdown.lexer(text);
  const slugger = new GithubSlugger();
  const anchors = new Set<string>();
  const links: { text: string; href: string }[] = [];
  markdown.walkTokens(tokens, (token) => {
    if (token.type === "heading") {
      anchors.add(slugger.slug(plainText(token.tokens ?? [])));
    } else if (token.type === "link" || token.type === "image") {
      links.push({ text: token.text, href: token.href });
    }
  });
  return { anchors, links };
}

/** A URL with a scheme (`https:`, `mailto:`) or a host (`//`) of its own. */
const ABSOLUTE = /^([a-z][a-z\d+.-]*:|\/\/)/i;

/** Where a relative link points from `page`, by path from the root. */
function resolve(page: string, href: string) {
  const base = new URL(page, "file:///repository/");
  const url = new URL(href, base);
  const path = decodeURIComponent(url.pathname);
  const inside = path.startsWith("/repository/");
  return {
    path: inside ? path.slice("/repository/".length) : undefined,
    anchor: url.hash === "" ? undefined : decodeURIComponent(url.hash.slice(1)),
  };
}

/** What is wrong with each relative link in `pages`, one line each. */
function brokenLinks(pages: readonly string[], files: Files): string[] {
  const anchorsOf = new Map<string, Set<string>>();
  const anchors = (path: string) => {
    if (!anchorsOf.has(path)) {
      anchorsOf.set(path, readPage(files.read(path)).anchors);
    }
    return anchorsOf.get(path)!;
  };
  const problems: string[] = [];
  for (const page of pages) {
    for (const { text, href } of readPage(files.read(page)).links) {
      if (ABSOLUTE.test(href)) continue;
      const link = `${page}: [${text}](${href})`;
      const { path, anchor } = resolve(page, href);
      if (path === undefined) {
        problems.push(`${link}: outside the repository`);
      } else if (!files.exists(path)) {
        problems.push(`${link}: no file ${path}`);
      } else if (anchor !== undefined && !path.endsWith(".md")) {
        problems.push(`${link}: an anchor in ${path}, which has no headings`);
      } else if (anchor !== undefined && !anchors(path).has(anchor)) {
        problems.push(`${link}: no heading #${anchor} in ${path}`);
      }
    }
  }
  return problems;
}

/** The repository's files, read from disk. */
const REPOSITORY: Files = {
  exists(path) {
    try {
      Deno.statSync(new URL(`../${path}`, import.meta.url));
      return true;
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return false;
      throw error;
    }
  },
  read: (path) => Deno.readTextFileSync(new URL(`../${path}`, import.meta.url)),
};

/** The pages under docs/, by path from the root. */
const DOCS_PAGES = [...Deno.readDirSync(new URL("../docs/", import.meta.url))]
  .filter((entry) => entry.isFile && entry.name.endsWith(".md"))
  .map((entry) => `docs/${entry.name}`)
  .sort();

/** Every page whose links must resolve. */
const PAGES = [
  "README.md",
  ...DOCS_PAGES,
  "deploy/README.md",
  ...(REPOSITORY.exists("CHANGELOG.md") ? ["CHANGELOG.md"] : []),
];

/** An in-memory repository for the checker's own tests. */
function memoryFiles(pages: Record<string, string>, others: string[]): Files {
  const folders = Object.keys(pages).concat(others)
    .flatMap((path) =>
      path.split("/").slice(0, -1).map((_, i, parts) =>
        parts.slice(0, i + 1).join("/")
      )
    );
  const all = new Set([...Object.keys(pages), ...others, ...folders]);
  return { exists: (path) => all.has(path), read: (path) => pages[path] };
}

Deno.test("brokenLinks() reports a missing file, a missing heading and a link that leaves the repository", () => {
  const files = memoryFiles({
    "README.md": [
      "# echoserver",
      "",
      "## Run it: `deno task start`",
      "",
      "[ops](docs/operations.md#file-descriptors) [run](#run-it-deno-task-start)",
      "[gone](docs/gone.md) [typo](docs/operations.md#file-descriptor)",
      "[chart](bench/results.svg) [up](../elsewhere.md) [web](https://deno.com)",
      "[line](main.ts#L1)",
      "",
      "```md",
      "[inside a fence](nowhere.md)",
      "```",
      "",
      "`[inside code](nowhere.md)`",
    ].join("\n"),
    "docs/operations.md": "# Operations\n\n[back](../README.md)\n\n" +
      "## File descriptors\n",
  }, ["bench/results.svg", "main.ts"]);
  assert.deepEqual(
    brokenLinks(["README.md", "docs/operations.md"], files),
    [
      "README.md: [gone](docs/gone.md): no file docs/gone.md",
      "README.md: [typo](docs/operations.md#file-descriptor): no heading #file-descriptor in docs/operations.md",
      "README.md: [up](../elsewhere.md): outside the repository",
      "README.md: [line](main.ts#L1): an anchor in main.ts, which has no headings",
    ],
  );
});

Deno.test("readPage() slugs headings as GitHub does: lowercase, spaces to '-', punctuation dropped, repeats numbered", () => {
  const { anchors } = readPage([
    "# The client's address: the PROXY protocol",
    "## Stand-ins for JSR's `@std`",
    "## Security & TLS <br> **now**",
    "## Logs",
    "## Logs",
    "## snake_case and kebab-case",
  ].join("\n"));
  assert.deepEqual([...anchors], [
    "the-clients-address-the-proxy-protocol",
    "stand-ins-for-jsrs-std",
    "security--tls--now",
    "logs",
    "logs-1",
    "snake_case-and-kebab-case",
  ]);
});

Deno.test("every relative link and anchor in README.md, docs/, deploy/README.md and CHANGELOG.md resolves", () => {
  assert.notEqual(DOCS_PAGES.length, 0, "docs/ has pages");
  assert.deepEqual(brokenLinks(PAGES, REPOSITORY), []);
});

Deno.test("the README links to every page under docs/ and to deploy/README.md, and each links back", () => {
  const targets = (page: string) =>
    new Set(
      readPage(REPOSITORY.read(page)).links
        .filter(({ href }) => !ABSOLUTE.test(href))
        .map(({ href }) => resolve(page, href).path),
    );
  const fromReadme = targets("README.md");
  for (const page of [...DOCS_PAGES, "deploy/README.md"]) {
    assert.ok(fromReadme.has(page), `the README links to ${page}`);
    assert.ok(targets(page).has("README.md"), `${page} links to the README`);
  }
});
