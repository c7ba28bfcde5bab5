// Which replica answered: --banner on echo connections, --served-by on HTTP.
import assert from "node:assert/strict";
import { MAX_BANNER_BYTES, renderBanner } from "../src/settings/banner.ts";
import { parseCommandLine } from "../src/settings/config.ts";
import { handleEchoConnection } from "../src/echo/echo.ts";
import { type RunningServer, startServer } from "../src/server.ts";
import { assertEchoes, bytes, connect, writeAll } from "./_echo_client.ts";
import { FakeTime } from "./_fake_time.ts";
import { loopbackConfig } from "./_loopback_config.ts";
import { memoryStreamPair } from "./_memory_stream.ts";
import { v1Header } from "./_proxy_header.ts";
import { readExactly } from "./_read.ts";
import { settlement } from "./_settlement.ts";
import { stub } from "./_stub.ts";
import { parseOutcome } from "./_parse_outcome.ts";
import { test } from "./_time_limit.ts";

const timeouts = { initialMs: 5_000, refreshMs: 30_000 };
const KUBERNETES = {
  HOSTNAME: "echoserver-7d4b9-x2x7q",
  POD_NAME: "echoserver-7d4b9-x2x7q",
  POD_NAMESPACE: "net-tests",
  NODE_NAME: "node-3",
};

Deno.test("renderBanner() fills each placeholder from its variable, as often as it appears", () => {
  assert.equal(
    renderBanner("{hostname} {pod} {namespace} {node} {pod}", KUBERNETES),
    "echoserver-7d4b9-x2x7q echoserver-7d4b9-x2x7q net-tests node-3 echoserver-7d4b9-x2x7q",
  );
  assert.equal(renderBanner("plain words", {}), "plain words");
  // A brace that opens or closes no placeholder stays as it is.
  assert.equal(renderBanner("} a { b", {}), "} a { b");
});

Deno.test("renderBanner() refuses an unknown placeholder, naming it and the known ones", () => {
  for (
    const placeholder of ["{pods}", "{}", "{Pod}", "{HOSTNAME}", "{ pod }"]
  ) {
    assert.throws(
      () => renderBanner(`served by ${placeholder}`, KUBERNETES),
      {
        name: "BannerError",
        message: `has an unknown placeholder ${placeholder}; known: ` +
          "{hostname}, {pod}, {namespace}, {node}",
      },
    );
  }
});

Deno.test("renderBanner() refuses a placeholder whose variable is unset or empty", () => {
  assert.throws(() => renderBanner("{node}", { NODE_NAME: "" }), {
    message: "needs NODE_NAME for {node}, and it is not set",
  });
  assert.throws(() => renderBanner("{hostname}", {}), {
    message: "needs HOSTNAME for {hostname}, and it is not set",
  });
});

Deno.test("renderBanner() refuses a control character, from the template or a variable", () => {
  for (
    const [template, env, code] of [
      ["{pod}", { POD_NAME: "a\nb" }, "000A"],
      ["a\tb", {}, "0009"],
      ["{node}", { NODE_NAME: "x\x7f" }, "007F"],
      ["a\u0085b", {}, "0085"],
      ["{pod}", { POD_NAME: "\r" }, "000D"],
    ] as const
  ) {
    assert.throws(() => renderBanner(template, env), {
      message: `renders with a control character (U+${code}) in it`,
    });
  }
  // Other characters, outside ASCII too, are text.
  assert.equal(renderBanner("réplica ✓", {}), "réplica ✓");
});

Deno.test(`renderBanner() takes ${MAX_BANNER_BYTES} bytes of UTF-8 and refuses one more`, () => {
  assert.equal(MAX_BANNER_BYTES, 1024);
  const most = "é".repeat(511) + "ab";
  assert.equal(renderBanner(most, {}), most);
  assert.throws(() => renderBanner(`${most}c`, {}), {
    message: "renders to 1025 bytes, over the 1024 allowed",
  });
  // Counted after the variables are filled in.
  assert.throws(() => renderBanner("{pod}", { POD_NAME: "x".repeat(1025) }), {
    message: "renders to 1025 bytes, over the 1024 allowed",
  });
});

Deno.test("--banner and --served-by are off by default", () => {
  const parsed = parseCommandLine([], KUBERNETES);
  assert.ok(parsed.kind === "run");
  assert.equal(parsed.settings.banner, undefined);
  assert.equal(parsed.settings.servedBy, undefined);
});

Deno.test("--banner and --served-by are rendered once, from a flag or their variables", () => {
  const parsed = parseCommandLine(
    ["--banner", "hello from {pod} on {node}"],
    { ...KUBERNETES, ECHOSERVER__SERVED_BY: "{namespace}/{pod}" },
  );
  assert.ok(parsed.kind === "run");
  assert.equal(
    parsed.settings.banner,
    "hello from echoserver-7d4b9-x2x7q on node-3",
  );
  assert.equal(parsed.settings.servedBy, "net-tests/echoserver-7d4b9-x2x7q");
});

Deno.test("a bad --banner or --served-by is one line naming the setting and the template", () => {
  assert.equal(
    parseOutcome(["--banner", "by {pods}"]),
    '--banner: "by {pods}" has an unknown placeholder {pods}; known: ' +
      "{hostname}, {pod}, {namespace}, {node}",
  );
  assert.equal(
    parseOutcome([], { ECHOSERVER__SERVED_BY: "{hostname}" }),
    'ECHOSERVER__SERVED_BY: "{hostname}" needs HOSTNAME for {hostname}, ' +
      "and it is not set",
  );
  assert.equal(
    parseOutcome(["--banner", "{pod}"], { POD_NAME: "a\nb" }),
    '--banner: "{pod}" renders with a control character (U+000A) in it',
  );
  assert.equal(parseOutcome(["--banner="]), '--banner: "" is not a text');
});

Deno.test("--served-by must render as printable ASCII, which a header carries", () => {
  assert.equal(
    parseOutcome(["--served-by", "réplica {node}"], KUBERNETES),
    '--served-by: "réplica node-3" cannot go in a header: printable ASCII only',
  );
  assert.equal(parseOutcome(["--served-by", "~ {node} !"], KUBERNETES), "run");
  // A banner goes in a stream, not a header: any text.
  assert.equal(parseOutcome(["--banner", "réplica"]), "run");
});

test("handleEchoConnection() sends the banner and a line feed first, and does not count it as echoed", async () => {
  const [server, client] = memoryStreamPair();
  const served = handleEchoConnection(server, {
    timeouts,
    banner: "served by pod-a",
  });
  assert.deepEqual(await readExactly(client, 16), bytes("served by pod-a\n"));
  await assertEchoes(client, "hey there");
  client.closeWrite();
  assert.deepEqual(await served, { reason: "closed", bytesEchoed: 9 });
});

test("handleEchoConnection() sends the banner only once the TLS handshake is done", async () => {
  const [server, client] = memoryStreamPair();
  const handshake = Promise.withResolvers<void>();
  let handshaken = false;
  const writesBefore: string[] = [];
  const tls = {
    read: (buffer: Uint8Array) => server.read(buffer),
    write: (data: Uint8Array) => {
      if (!handshaken) writesBefore.push(new TextDecoder().decode(data));
      return server.write(data);
    },
    close: () => server.close(),
    handshake: () => handshake.promise,
  };
  const served = handleEchoConnection(tls, { timeouts, banner: "tls pod" });
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.deepEqual(writesBefore, []);
  handshaken = true;
  handshake.resolve();
  assert.deepEqual(await readExactly(client, 8), bytes("tls pod\n"));
  client.closeWrite();
  assert.equal((await served).reason, "closed");
});

test("handleEchoConnection() writing the banner does not move the initial deadline", async () => {
  using time = new FakeTime();
  using _now = stub(performance, "now", () => time.now);
  // Lockstep: the banner is written only as the client reads it, which it
  // does just before the initial deadline; then it says nothing.
  const [server, client] = memoryStreamPair({ lockstep: true });
  const served = handleEchoConnection(server, { timeouts, banner: "pod-a" });
  const ended = settlement(served, time);
  await time.tickAsync(timeouts.initialMs - 1);
  assert.deepEqual(await readExactly(client, 6), bytes("pod-a\n"));
  await time.tickAsync(1);
  await time.runMicrotasks();
  assert.equal(ended.at, timeouts.initialMs);
  assert.deepEqual(await served, { reason: "idle", bytesEchoed: 0 });
});

test("handleEchoConnection() drops a client that never reads the banner at the initial deadline", async () => {
  using time = new FakeTime();
  using _now = stub(performance, "now", () => time.now);
  const [server] = memoryStreamPair({ lockstep: true });
  const served = handleEchoConnection(server, { timeouts, banner: "pod-a" });
  const ended = settlement(served, time);
  await time.tickAsync(timeouts.initialMs - 1);
  await time.tickAsync(1);
  await time.runMicrotasks();
  assert.equal(ended.at, timeouts.initialMs);
  assert.deepEqual(await served, { reason: "idle", bytesEchoed: 0 });
});

test("handleEchoConnection() at shutdown gives a banner being written the drain bound", async () => {
  using time = new FakeTime();
  using _now = stub(performance, "now", () => time.now);
  const shutdown = new AbortController();
  const [server] = memoryStreamPair({ lockstep: true });
  const served = handleEchoConnection(server, {
    timeouts,
    banner: "pod-a",
    signal: shutdown.signal,
  });
  const ended = settlement(served, time);
  await time.runMicrotasks();
  shutdown.abort();
  await time.tickAsync(999);
  await time.tickAsync(1);
  await time.runMicrotasks();
  assert.equal(ended.at, 1_000);
  assert.deepEqual(await served, { reason: "shutdown", bytesEchoed: 0 });
});

/** Starts the service with `overrides`; stops it when disposed. */
function serve(overrides: Parameters<typeof loopbackConfig>[0]) {
  const shutdown = new AbortController();
  const draining = new AbortController();
  const server = startServer(
    loopbackConfig({ logLevel: "error", ...overrides }),
    {
      shutdown,
      draining: draining.signal,
    },
  );
  return {
    ...server,
    draining,
    async [Symbol.asyncDispose]() {
      shutdown.abort("test over");
      await server.finished;
    },
  } satisfies RunningServer & AsyncDisposable & Record<string, unknown>;
}

test("with --proxy-protocol the banner follows the header, and a bad header gets none", async () => {
  await using server = serve({ proxyProtocol: true, banner: "pod-a" });
  using good = await connect(server.echoAddr);
  const { bytes: header } = v1Header(
    { ip: new Uint8Array([192, 0, 2, 1]), port: 5000 },
    { ip: new Uint8Array([192, 0, 2, 2]), port: 4000 },
  );
  await writeAll(good, header);
  assert.deepEqual(await readExactly(good, 6), bytes("pod-a\n"));
  await assertEchoes(good, "after the header");

  using bad = await connect(server.echoAddr);
  await writeAll(bad, bytes("GET / HTTP/1.1\r\n\r\n"));
  assert.equal(await bad.read(new Uint8Array(64)), null, "closed, no banner");
});

/** The head of an HTTP response to `request`, lower-cased header names. */
async function responseHead(port: number, request: string) {
  using conn = await connect(port);
  await writeAll(conn, bytes(request));
  let head = "";
  const buffer = new Uint8Array(4096);
  while (!head.includes("\r\n\r\n")) {
    const size = await conn.read(buffer);
    if (size === null) break;
    head += new TextDecoder().decode(buffer.subarray(0, size));
  }
  const [statusLine, ...lines] = head.split("\r\n\r\n")[0].split("\r\n");
  const headers = new Map(lines.map((line) => {
    const colon = line.indexOf(":");
    return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()];
  }));
  return { status: Number(statusLine.split(" ")[1]), headers };
}

test("with --served-by every HTTP response says X-Served-By: probes, /metrics, 404, 405, 400 and 503", async () => {
  await using server = serve({ servedBy: "net-tests/pod-a" });
  const { port } = server.httpAddr;
  const get = (path: string, method = "GET", host = "localhost") =>
    `${method} ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`;
  const requests: [string, number][] = [
    [get("/healthcheck"), 200],
    [get("/livez"), 200],
    [get("/readyz"), 200],
    [get("/livez", "HEAD"), 200],
    [get("/metrics"), 200],
    [get("/nowhere"), 404],
    [get("/die", "GET"), 405],
    [get("/healthcheck", "GET", "x/die?"), 400],
    [get("/%64ie", "POST"), 400],
  ];
  for (const [request, status] of requests) {
    const head = await responseHead(port, request);
    assert.equal(head.status, status, request);
    assert.equal(head.headers.get("x-served-by"), "net-tests/pod-a", request);
  }
  server.draining.abort();
  const draining = await responseHead(port, get("/readyz"));
  assert.equal(draining.status, 503);
  assert.equal(draining.headers.get("x-served-by"), "net-tests/pod-a");
});

test("without --served-by no response says X-Served-By", async () => {
  await using server = serve({});
  const head = await responseHead(
    server.httpAddr.port,
    "GET /healthcheck HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
  );
  assert.equal(head.status, 200);
  assert.equal(head.headers.has("x-served-by"), false);
});
