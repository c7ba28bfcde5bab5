import assert from "node:assert/strict";
import { DROPPED_MESSAGE } from "../src/observability/log_queue.ts";
import { rawHttpStatus } from "./_http_raw.ts";
import { parseMetrics } from "./_metrics_text.ts";
import { readExactly } from "./_read.ts";
import { LOOPBACK_ANY_PORT, ServiceProcess } from "./_service_process.ts";
import { withinTimeLimit } from "./_time_limit.ts";

/** Echoes one byte on a new connection and closes it, within `ms`. */
async function shortClient(port: number, ms = 1_000): Promise<void> {
  const signal = AbortSignal.timeout(ms);
  using conn = await Deno.connect({ hostname: "127.0.0.1", port, signal });
  const limit = Promise.withResolvers<never>();
  signal.addEventListener("abort", () => limit.reject(signal.reason));
  await conn.write(Uint8Array.of(42));
  assert.deepEqual(
    await Promise.race([readExactly(conn, 1), limit.promise]),
    Uint8Array.of(42),
  );
}

/** GET `path`, answered within `ms`: its status and text. */
async function get(port: number, path: string, ms = 1_000) {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, {
    signal: AbortSignal.timeout(ms),
  });
  return { status: response.status, text: await response.text() };
}

Deno.test("with stderr on a pipe nobody reads, echo and the health check answer through 4,000 short clients, and the dropped lines are reported once it is read", async () => {
  await using service = new ServiceProcess(LOOPBACK_ANY_PORT, {
    unreadStderr: true,
  });
  await withinTimeLimit(
    (async () => {
      const ports = await service.ports();
      const clients = 4_000;
      const concurrent = 50;
      for (let started = 0; started < clients; started += concurrent) {
        await Promise.all(
          Array.from({ length: concurrent }, () => shortClient(ports.echo)),
        );
        if (started % 1_000 === 0) {
          assert.equal(
            (await get(ports.http, "/healthcheck")).text,
            "ok computer",
          );
        }
      }
      // Well past one pipe buffer of lines: echo and the health check still answer.
      await shortClient(ports.echo);
      assert.equal((await get(ports.http, "/healthcheck")).text, "ok computer");
      const metrics = parseMetrics((await get(ports.http, "/metrics")).text);
      const dropped = metrics.get("echoserver_log_lines_dropped_total")!;
      assert.ok(dropped > 0, `dropped ${dropped}`);

      service.readStderr();
      const report = await service.stderr.waitFor(DROPPED_MESSAGE);
      assert.equal(report, `warning: ${DROPPED_MESSAGE} count=${dropped}`);
      await fetch(`http://127.0.0.1:${ports.http}/die`, { method: "POST" })
        .then((response) => response.body?.cancel());
      assert.equal((await service.status).code, 0);
      // Whole lines only, every accepted one there, the last before /die too.
      const lines = service.stderr.lines;
      for (const line of lines) {
        assert.match(
          line,
          /^(info: connection ended client=\d+ remote=127\.0\.0\.1:\d+ reason=closed bytes=1 duration_ms=[\d.]+|warning: .*|info: shutting down reason="POST \/die")$/,
        );
      }
      const ended = lines.filter((line) => line.includes("connection ended"));
      assert.equal(ended.length + dropped, clients + 1);
      assert.equal(lines.at(-1), 'info: shutting down reason="POST /die"');
    })(),
    60_000,
  );
});

Deno.test("a clean exit waits for a reader that is behind: the end of each connection POST /die closes is written", async () => {
  await using service = new ServiceProcess(LOOPBACK_ANY_PORT, {
    unreadStderr: true,
  });
  await withinTimeLimit(
    (async () => {
      const ports = await service.ports();
      const open = 900; // about 85 KiB of lines at exit: more than a pipe holds
      const conns = await Promise.all(
        Array.from(
          { length: open },
          () => Deno.connect({ hostname: "127.0.0.1", port: ports.echo }),
        ),
      );
      try {
        await Promise.all(conns.map(async (conn) => {
          await conn.write(Uint8Array.of(1));
          await readExactly(conn, 1);
        }));
        await fetch(`http://127.0.0.1:${ports.http}/die`, { method: "POST" })
          .then((response) => response.body?.cancel());
        // A reader that stalls for a while, well within the flush limit.
        await new Promise((resolve) => setTimeout(resolve, 200));
        service.readStderr();
        assert.equal((await service.status).code, 0);
      } finally {
        for (const conn of conns) conn.close();
      }
      const closed = service.stderr.lines.filter((line) =>
        line.includes("reason=shutdown")
      );
      assert.equal(closed.length, open);
      assert.equal(
        service.stderr.lines.at(-1)?.includes("reason=shutdown"),
        true,
      );
    })(),
    20_000,
  );
});

Deno.test("a reader that never reads holds the exit after POST /die for 1 s, the flush limit, and no longer", async () => {
  await using service = new ServiceProcess(LOOPBACK_ANY_PORT, {
    unreadStderr: true,
  });
  await withinTimeLimit(
    (async () => {
      const ports = await service.ports();
      // About 150 KiB of lines: the pipe is full, the queue is not.
      for (let started = 0; started < 1_600; started += 50) {
        await Promise.all(
          Array.from({ length: 50 }, () => shortClient(ports.echo)),
        );
      }
      await fetch(`http://127.0.0.1:${ports.http}/die`, { method: "POST" })
        .then((response) => response.body?.cancel());
      const answered = performance.now();
      assert.equal((await service.exited).code, 0);
      const ms = performance.now() - answered;
      // The wait happened, 1 s of it, in a window that would catch 2 s.
      assert.ok(ms >= 900 && ms < 1_900, `exit took ${Math.round(ms)} ms`);
      // And it ended at the limit: the last lines were never written.
      service.readStderr();
      await service.status;
      assert.ok(
        !service.stderr.lines.includes(
          'info: shutting down reason="POST /die"',
        ),
      );
    })(),
    30_000,
  );
});

/** POST /die exactly as `curl -X POST http://localhost:PORT/die` sends it. */
const curlPost = (port: number) =>
  `POST /die HTTP/1.1\r\nHost: localhost:${port}\r\n` +
  "User-Agent: curl/8.14.1\r\nAccept: */*\r\n\r\n";

/** POST /die as `curl -H "Transfer-Encoding: chunked" --data-binary @- ...` sends it. */
const curlChunkedPost = (port: number) =>
  `POST /die HTTP/1.1\r\nHost: localhost:${port}\r\n` +
  "User-Agent: curl/8.14.1\r\nAccept: */*\r\nTransfer-Encoding: chunked\r\n" +
  "Content-Type: application/x-www-form-urlencoded\r\n\r\n" +
  "6\r\nhello\n\r\n0\r\n\r\n";

/** Requests no client should send, answered or closed without a word on stderr. */
const HOSTILE = [
  "GET /healthcheck HTTP/1.1\r\nHost: \u0000\r\n\r\n",
  "BREW /pot HTTP/1.1\r\n\r\n",
  "POST /die HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
  "POST /die HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n",
  "\r\n\r\n\r\n",
];

for (
  const [shape, request, format] of [
    ["plain", curlPost, "text"],
    ["chunked", curlChunkedPost, "text"],
    ["plain", curlPost, "json"],
    ["chunked", curlChunkedPost, "json"],
  ] as const
) {
  Deno.test(`stderr holds only the service's own lines, in ${format}, after hostile requests and a ${shape} curl POST /die`, async () => {
    await using service = new ServiceProcess([
      ...LOOPBACK_ANY_PORT,
      "--log-format",
      format,
    ]);
    await withinTimeLimit(
      (async () => {
        const { http } = await service.ports();
        for (const hostile of HOSTILE) await rawHttpStatus(http, hostile);
        assert.equal(await rawHttpStatus(http, request(http)), 200);
        assert.equal((await service.status).code, 0);
        const shuttingDown = format === "json"
          ? [{ level: "info", message: "shutting down", reason: "POST /die" }]
          : ['info: shutting down reason="POST /die"'];
        const lines = format === "json"
          ? service.stderr.lines.map((line) => {
            const { time, ...rest } = JSON.parse(line);
            assert.ok(!Number.isNaN(Date.parse(time)), line);
            return rest;
          })
          : service.stderr.lines;
        assert.deepEqual(lines, shuttingDown);
        assert.equal(service.stdout.lines.length, 2);
      })(),
      10_000,
    );
  });
}

Deno.test("in --log-format json a port in use is one JSON line on stderr, and exit 1", async () => {
  using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  await using service = new ServiceProcess([
    ...["--echo-host", "127.0.0.1", "--echo-port", `${taken.addr.port}`],
    ...["--log-format", "json"],
  ]);
  await withinTimeLimit(
    (async () => {
      assert.equal((await service.status).code, 1);
      assert.deepEqual(service.stdout.lines, []);
      assert.equal(service.stderr.lines.length, 1);
      const { time, ...rest } = JSON.parse(service.stderr.lines[0]);
      assert.ok(!Number.isNaN(Date.parse(time)));
      assert.equal(rest.level, "error");
      assert.match(
        rest.message,
        new RegExp(
          `^cannot listen on 127\\.0\\.0\\.1:${taken.addr.port}: Address already in use`,
        ),
      );
    })(),
    10_000,
  );
});

Deno.test("a bad value is one JSON line and exit 2 once the log format read is json, plain text before", async () => {
  for (
    const [args, env, json] of [
      [["--log-format", "json", "--echo-port", "x"], {}, true],
      [["--echo-prot", "1", "--log-format", "json"], {}, true],
      [["--idle-timeout", "0"], { ECHOSERVER__LOG_FORMAT: "json" }, true],
      [["--log-format", "jsn", "--echo-port", "x"], {}, false],
    ] as const
  ) {
    await using service = new ServiceProcess([...args], { env });
    await withinTimeLimit(
      (async () => {
        assert.equal((await service.status).code, 2);
        assert.deepEqual(service.stdout.lines, []);
        assert.equal(
          service.stderr.lines.length,
          1,
          service.stderr.lines.join("\n"),
        );
        const [line] = service.stderr.lines;
        if (json) {
          const { level, message } = JSON.parse(line);
          assert.equal(level, "error");
          assert.match(message, /is not|unknown option/);
          assert.match(message, /\(see --help\)$/);
        } else {
          assert.match(line, /^echoserver: --echo-port: "x" is not an integer/);
        }
      })(),
      10_000,
    );
  }
});

Deno.test("deno task start keeps stderr the service's own past Deno's update check, even with NODE_EXTRA_CA_CERTS naming no file", async () => {
  // `deno run` checks for a new Deno half a second after start, and loading
  // the root certificates for it writes a warning when NODE_EXTRA_CA_CERTS
  // cannot be read (as when descriptors run out). The task turns the check
  // off; a second of --shutdown-delay keeps the service up past it.
  await using service = new ServiceProcess(
    [...LOOPBACK_ANY_PORT, "--log-format", "json", "--shutdown-delay", "1"],
    { task: "start", env: { NODE_EXTRA_CA_CERTS: "/nonexistent/ca.pem" } },
  );
  await withinTimeLimit(service.ports(), 10_000, "ports");
  service.kill("SIGTERM");
  assert.equal((await withinTimeLimit(service.status, 10_000, "exit")).code, 0);
  assert.deepEqual(
    service.stderr.lines.map((line) => JSON.parse(line).message),
    ["draining: /readyz answers 503 until shutdown", "shutting down"],
  );
});
