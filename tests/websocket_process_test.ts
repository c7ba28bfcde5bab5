import assert from "node:assert/strict";
import { CERTIFICATE } from "./_certificates.ts";
import {
  LOOPBACK_ANY_PORT,
  SERVICE_PERMISSIONS,
  ServiceProcess,
} from "./_service_process.ts";
import { test } from "./_time_limit.ts";

/** Python with Debian's python3-websockets: a client from outside Deno. */
const PYTHON = "/usr/bin/python3";
const CLIENT = new URL("./_websocket_client.py", import.meta.url).pathname;

/**
 * Runs a scenario of the Python client against `port` (over TLS, trusting
 * the test certificate, with `tls`): its JSON lines.
 */
async function python(
  port: number | { tls: number },
  scenario: string,
  ...args: string[]
): Promise<Record<string, unknown>[]> {
  const url = typeof port === "number"
    ? `ws://127.0.0.1:${port}/ws`
    : `wss://localhost:${port.tls}/ws`;
  const { code, stdout, stderr } = await new Deno.Command(PYTHON, {
    args: [CLIENT, scenario, url, ...args],
    env: { WEBSOCKET_CA_FILE: CERTIFICATE.certFile },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  assert.equal(code, 0, decoder.decode(stderr));
  return decoder.decode(stdout).trim().split("\n").map((line) =>
    JSON.parse(line)
  );
}

/** Every line of the service's stderr is its own, with no warning of Deno's. */
function assertOwnLines(lines: readonly string[]): void {
  for (const line of lines) assert.match(line, /^(debug|info|warning): /);
}

test("Python's websockets client gets text back as text, binary as binary, and fragments as one message", async () => {
  await using service = new ServiceProcess(LOOPBACK_ANY_PORT);
  const { http } = await service.ports();
  assert.deepEqual(await python(http, "echo"), [{
    text: "hello, é",
    binary: [0, 1, 255],
    fragmented: [...new TextEncoder().encode("abcdef")],
  }]);
  service.kill("SIGTERM");
  assert.equal((await service.status).code, 0);
  assertOwnLines(service.stderr.lines);
  assert.ok(
    service.stderr.lines.some((line) =>
      /^info: websocket ended .* reason=closed messages=3 bytes=18 /.test(line)
    ),
  );
});

test("Python's websockets client gets 1009 for a fragmented message over --ws-max-message, after the message before it", async () => {
  await using service = new ServiceProcess([
    ...LOOPBACK_ANY_PORT,
    "--ws-max-message",
    "1000",
  ]);
  const { http } = await service.ports();
  assert.deepEqual(await python(http, "too_big", "1000"), [{
    echoed: 10,
    code: 1009,
    reason: "message too big",
  }]);
});

test("a silent WebSocket is closed with 1000 at --idle-timeout, as Python's websockets client sees it", async () => {
  await using service = new ServiceProcess([
    ...LOOPBACK_ANY_PORT,
    "--idle-timeout",
    "0.5",
  ]);
  const { http } = await service.ports();
  const [{ ms, code, reason }] = await python(http, "idle");
  assert.deepEqual([code, reason], [1000, "idle timeout"]);
  // 0.5 s, and not 1 s.
  assert.ok(Number(ms) >= 450 && Number(ms) < 1_000, `${ms} ms`);
});

test("POST /die closes a Python client's WebSocket with 1001, and the process exits 0 with only its own lines on stderr", async () => {
  await using service = new ServiceProcess(LOOPBACK_ANY_PORT);
  const { http } = await service.ports();
  const client = new Deno.Command(PYTHON, {
    args: [CLIENT, "shutdown", `ws://127.0.0.1:${http}/ws`],
    stdout: "piped",
  }).spawn();
  const lines = client.stdout.pipeThrough(new TextDecoderStream())
    .values();
  assert.deepEqual(JSON.parse((await lines.next()).value!), { ready: true });
  const started = performance.now();
  await fetch(`http://127.0.0.1:${http}/die`, { method: "POST" })
    .then((response) => response.body?.cancel());
  const rest = [];
  for await (const chunk of lines) rest.push(chunk);
  assert.deepEqual(JSON.parse(rest.join("")), {
    code: 1001,
    reason: "Server shutting down",
  });
  assert.equal((await client.status).code, 0);
  assert.equal((await service.status).code, 0);
  assert.ok(performance.now() - started < 900, "not held by the drain");
  assertOwnLines(service.stderr.lines);
  assert.ok(
    service.stderr.lines.some((line) =>
      /^info: websocket ended .* reason=shutdown /.test(line)
    ),
  );
});

test("over TLS, Python's websockets client gets its messages echoed, and 1009 once one goes over --ws-max-message", async () => {
  await using service = new ServiceProcess([
    ...LOOPBACK_ANY_PORT,
    ...["--tls-cert", CERTIFICATE.certFile, "--tls-key", CERTIFICATE.keyFile],
    ...["--ws-max-message", "1000"],
  ], { permissions: [...SERVICE_PERMISSIONS, "--allow-read"] });
  const { http } = await service.ports();
  assert.deepEqual(await python({ tls: http }, "echo"), [{
    text: "hello, é",
    binary: [0, 1, 255],
    fragmented: [...new TextEncoder().encode("abcdef")],
  }]);
  assert.deepEqual(await python({ tls: http }, "too_big", "1000"), [{
    echoed: 10,
    code: 1009,
    reason: "message too big",
  }]);
});
