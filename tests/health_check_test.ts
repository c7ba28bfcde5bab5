import assert from "node:assert/strict";
import { parseCommandLine } from "../src/settings/config.ts";
import { checkHealth, healthCheckUrl } from "../src/process/health_check.ts";
import { CERTIFICATE, OTHER_CERTIFICATE } from "./_certificates.ts";
import {
  LOOPBACK_ANY_PORT,
  SERVICE_PERMISSIONS,
  ServiceProcess,
} from "./_service_process.ts";
import { test } from "./_time_limit.ts";
import { TimeoutListeners } from "./_timeout_listeners.ts";

/** A server on loopback that answers every request with `response()`. */
function answering(
  response: () => Response,
  tls?: { cert: string; key: string },
): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {}, ...tls },
    () => response(),
  );
}

/**
 * A server that accepts connections and never answers, not even a TLS
 * handshake; closing it closes them too. `connected` settles with the
 * `performance.now()` of its first client.
 */
function hung() {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const connected = Promise.withResolvers<number>();
  const accepting = (async () => {
    try {
      while (true) {
        held.push(await listener.accept());
        connected.resolve(performance.now());
      }
    } catch {
      // Closed.
    }
  })();
  return Object.assign(listener, {
    connected: connected.promise,
    async [Symbol.asyncDispose]() {
      listener.close();
      await accepting;
      for (const conn of held) conn.close();
    },
  });
}

const url = (scheme: string, port: number) =>
  new URL(`${scheme}://127.0.0.1:${port}/healthcheck`);

test("checkHealth() passes a 200 'ok computer' and lets go of its timer, by the model of Deno's keep-alive rule", async () => {
  await using server = answering(() => new Response("ok computer"));
  using timeouts = new TimeoutListeners();
  await checkHealth(url("http", server.addr.port));
  assert.equal(timeouts.made, 1);
  assert.equal(timeouts.keepingAlive, 0);
});

test("checkHealth() fails any other answer, saying what came", async () => {
  for (
    const [response, message] of [
      [
        () => new Response("shutting down", { status: 503 }),
        'answered 503 "shutting down", not 200 "ok computer"',
      ],
      [() => new Response("ok"), 'answered 200 "ok", not 200 "ok computer"'],
    ] as const
  ) {
    await using server = answering(response);
    await assert.rejects(checkHealth(url("http", server.addr.port)), {
      message,
    });
  }
  // Not HTTP at all: a server of another protocol greets, and hangs up.
  const other = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const greeting = (async () => {
    using conn = await other.accept();
    await conn.write(new TextEncoder().encode("SSH-2.0-OpenSSH_9.2\r\n"));
  })();
  await assert.rejects(checkHealth(url("http", other.addr.port)), {
    message: 'answered "SSH-2.0-OpenSSH_9.2\\r\\n", not HTTP',
  });
  await greeting;
  other.close();
});

test("checkHealth() fails a refused connection", async () => {
  const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  closed.close();
  await assert.rejects(
    checkHealth(url("http", closed.addr.port)),
    Deno.errors.ConnectionRefused,
  );
});

test("checkHealth() gives up on a server that never answers, over TCP and TLS, at its time limit", async () => {
  for (const scheme of ["http", "https"]) {
    await using server = hung();
    await assert.rejects(
      checkHealth(url(scheme, server.addr.port), { timeoutMs: 50 }),
      { message: "no answer within 50 ms" },
    );
  }
});

test("checkHealth() over TLS trusts the certificate it is given, and no other", async () => {
  await using server = answering(() => new Response("ok computer"), {
    cert: CERTIFICATE.cert,
    key: CERTIFICATE.key,
  });
  const https = url("https", server.addr.port);
  await checkHealth(https, { caCerts: [CERTIFICATE.cert] });
  await assert.rejects(
    checkHealth(https, { caCerts: [OTHER_CERTIFICATE.cert] }),
    /certificate/i,
  );
});

Deno.test("healthCheckUrl() is the service's own /healthcheck, on loopback when it listens on every address, over https with TLS", () => {
  const urlFor = (args: string[]) => {
    const parsed = parseCommandLine(args, {});
    if (parsed.kind !== "run") throw new Error(parsed.kind);
    return healthCheckUrl(parsed.settings).href;
  };
  assert.equal(urlFor([]), "http://127.0.0.1:4001/healthcheck");
  assert.equal(
    urlFor(["--http-host", "0.0.0.0"]),
    "http://127.0.0.1:4001/healthcheck",
  );
  assert.equal(urlFor(["--http-host", "::"]), "http://[::1]:4001/healthcheck");
  assert.equal(
    urlFor(["--http-host", "localhost", "--http-port", "8080"]),
    "http://localhost:8080/healthcheck",
  );
  assert.equal(
    urlFor(["--tls-cert", "c.pem", "--tls-key", "k.pem"]),
    "https://127.0.0.1:4001/healthcheck",
  );
});

// The command itself, as a container's HEALTHCHECK runs it: with the
// service's own settings, and its permissions.

/** `main.ts --check-health` with `args` and `env`; its exit code and stderr. */
async function checkHealthCommand(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stderr: string[]; stdout: string[] }> {
  await using check = new ServiceProcess(["--check-health", ...args], {
    env,
    permissions: [...SERVICE_PERMISSIONS, "--allow-read"],
  });
  const { code } = await check.status;
  return { code, stderr: check.stderr.lines, stdout: check.stdout.lines };
}

test("main.ts --check-health exits 0 while the service runs, then 1 with one line once it has stopped", async () => {
  await using service = new ServiceProcess(LOOPBACK_ANY_PORT);
  const { http } = await service.ports();
  const settings = ["--http-port", `${http}`];
  assert.deepEqual(await checkHealthCommand(settings), {
    code: 0,
    stderr: [],
    stdout: [],
  });
  service.kill("SIGTERM");
  assert.equal((await service.status).code, 0);
  const { code, stderr } = await checkHealthCommand(settings);
  assert.equal(code, 1);
  assert.deepEqual(stderr, [
    `echoserver: health check of http://127.0.0.1:${http}/healthcheck ` +
    "failed: Connection refused (os error 111)",
  ]);
});

test(
  "main.ts --check-health gives up on a hung server after 2 s",
  async () => {
    await using server = hung();
    const { code, stderr } = await checkHealthCommand([
      `http://127.0.0.1:${server.addr.port}/healthcheck`,
    ]);
    // From its connection, so that the process's own start does not count.
    const elapsed = performance.now() - await server.connected;
    assert.equal(code, 1);
    assert.deepEqual(stderr, [
      `echoserver: health check of http://127.0.0.1:${server.addr.port}/healthcheck ` +
      "failed: no answer within 2000 ms",
    ]);
    // Not at once, and not at the next power of two.
    assert.ok(elapsed >= 1_500 && elapsed < 3_900, `${elapsed} ms`);
  },
);

test("main.ts --check-health with a container's settings checks HTTPS on loopback, trusting the service's certificate", async () => {
  // As the image runs it: HTTP on every address, TLS and a token from the
  // environment, which the check reads as the service does.
  const env = {
    ECHOSERVER__HTTP_HOST: "0.0.0.0",
    ECHOSERVER__TLS__CERT_FILE: CERTIFICATE.certFile,
    ECHOSERVER__TLS__KEY_FILE: CERTIFICATE.keyFile,
    ECHOSERVER__DIE_TOKEN: "t0ken",
  };
  await using service = new ServiceProcess(
    ["--echo-host", "127.0.0.1", "--echo-port", "0", "--http-port", "0"],
    { env, permissions: [...SERVICE_PERMISSIONS, "--allow-read"] },
  );
  const { http } = await service.ports();
  assert.equal(
    service.stdout.lines[1],
    `http listening on https://0.0.0.0:${http}/`,
  );
  const settings = ["--http-port", `${http}`];
  assert.equal((await checkHealthCommand(settings, env)).code, 0);
  // Another certificate in its place: the check no longer trusts the server.
  const other = await checkHealthCommand(settings, {
    ...env,
    ECHOSERVER__TLS__CERT_FILE: OTHER_CERTIFICATE.certFile,
  });
  assert.equal(other.code, 1);
  assert.match(
    other.stderr.join("\n"),
    /^echoserver: health check of https:.*certificate/,
  );
});

test("main.ts --check-health exits 1, not 2, for a bad setting or URL: Docker reserves 2", async () => {
  for (
    const [args, line] of [
      [
        ["ftp://localhost/"],
        'echoserver: --check-health: "ftp://localhost/" is not an http or https URL (see --help)',
      ],
      [
        ["--http-port", "x"],
        'echoserver: --http-port: "x" is not an integer from 0 to 65535 with no leading zero (see --help)',
      ],
    ] as const
  ) {
    assert.deepEqual(await checkHealthCommand([...args]), {
      code: 1,
      stderr: [line],
      stdout: [],
    });
  }
});
