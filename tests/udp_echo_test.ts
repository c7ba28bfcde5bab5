// UDP echo (RFC 862): --udp.
import assert from "node:assert/strict";
import fc from "fast-check";
import type { Socket } from "node:dgram";
import { parseCommandLine } from "../src/settings/config.ts";
import {
  type DatagramSocket,
  type DatagramSource,
  echoDatagrams,
} from "../src/echo/datagram_echo.ts";
import { serveUdpEcho } from "../src/echo/udp_echo.ts";
import { createUdpMetrics, type UdpMetrics } from "../src/echo/udp_metrics.ts";
import { createMetrics } from "../src/metrics.ts";
import { startServer } from "../src/server.ts";
import { ClientProcess } from "./_client_process.ts";
import { FakeTime } from "./_fake_time.ts";
import { LineCapture } from "./_line_capture.ts";
import { loopbackConfig } from "./_loopback_config.ts";
import { parseMetrics } from "./_metrics_text.ts";
import {
  assertRefusesToStart,
  LOOPBACK_ANY_PORT,
  ServiceProcess,
} from "./_service_process.ts";
import { settlement } from "./_settlement.ts";
import { parseOutcome } from "./_parse_outcome.ts";
import { test } from "./_time_limit.ts";

/** The largest UDP payload over IPv4: 65,535 less the IP and UDP headers. */
const MAX_IPV4_DATAGRAM = 65_507;
/** Over IPv6, whose 65,535 bytes of payload length leave out its header. */
const MAX_IPV6_DATAGRAM = 65_527;

Deno.test("UDP echo is off by default, and --udp serves it on the echo host and port", () => {
  const off = parseCommandLine([], {});
  assert.ok(off.kind === "run");
  assert.equal(off.settings.udp, undefined);
  const on = parseCommandLine(["--udp", "--echo-host", "10.0.0.5"], {});
  assert.ok(on.kind === "run");
  assert.deepEqual(on.settings.udp, { hostname: "10.0.0.5", port: 4000 });
  const env = parseCommandLine([], {
    ECHOSERVER__UDP: "true",
    ECHOSERVER__ECHO_PORT: "7",
  });
  assert.ok(env.kind === "run");
  assert.deepEqual(env.settings.udp, { hostname: "0.0.0.0", port: 7 });
  const flagOff = parseCommandLine(["--udp=false"], {
    ECHOSERVER__UDP: "true",
  });
  assert.ok(flagOff.kind === "run");
  assert.equal(flagOff.settings.udp, undefined);
});

Deno.test("--udp-port gives UDP echo a port of its own; 0 picks a free one", () => {
  const parsed = parseCommandLine(["--udp", "--udp-port", "5000"], {});
  assert.ok(parsed.kind === "run");
  assert.deepEqual(parsed.settings.udp, { hostname: "0.0.0.0", port: 5000 });
  const any = parseCommandLine(["--udp"], { ECHOSERVER__UDP_PORT: "0" });
  assert.ok(any.kind === "run");
  assert.equal(any.settings.udp?.port, 0);
});

Deno.test("a bad --udp or --udp-port is one line naming the setting and the value", () => {
  assert.equal(
    parseOutcome([], { ECHOSERVER__UDP: "yes" }),
    'ECHOSERVER__UDP: "yes" is not true or false',
  );
  assert.equal(
    parseOutcome(["--udp", "--udp-port", "65536"]),
    '--udp-port: "65536" is not an integer from 0 to 65535 with no leading zero',
  );
  assert.equal(
    parseOutcome(["--udp-port", "5000"]),
    '--udp-port: "5000" needs --udp (ECHOSERVER__UDP) as well',
  );
  assert.equal(
    parseOutcome([], {
      ECHOSERVER__UDP_PORT: "5000",
      ECHOSERVER__UDP: "false",
    }),
    'ECHOSERVER__UDP_PORT: "5000" needs --udp (ECHOSERVER__UDP) as well',
  );
});

/** A socket whose sends the test settles by hand. */
class HandSocket implements DatagramSocket {
  readonly sends: {
    message: Uint8Array;
    port: number;
    address: string;
    done: (error: Error | null) => void;
  }[] = [];
  /** When `close` was called, in fake milliseconds, if it was. */
  closedAt?: number;
  throwOnSend?: Error;
  #onMessage?: (message: Uint8Array, source: DatagramSource) => void;
  #onError?: (error: Error) => void;

  constructor(readonly time?: FakeTime) {}

  on(event: "message" | "error", listener: never): this {
    if (event === "message") this.#onMessage = listener;
    else this.#onError = listener;
    return this;
  }

  send(
    message: Uint8Array,
    port: number,
    address: string,
    done: (error: Error | null) => void,
  ): void {
    if (this.throwOnSend) throw this.throwOnSend;
    this.sends.push({ message, port, address, done });
  }

  close(callback: () => void): void {
    this.closedAt = this.time ? this.time.now - this.time.start : 0;
    callback();
  }

  /** A datagram comes in from 192.0.2.1:`port`. */
  receive(text: string, port = 5000): void {
    const message = new TextEncoder().encode(text);
    this.#onMessage!(message, { address: "192.0.2.1", port });
  }

  failReceive(error: Error): void {
    this.#onError!(error);
  }
}

/** echoDatagrams() on a hand socket, with metrics and log lines to read. */
function handEcho(options: { maxInFlight?: number; time?: FakeTime } = {}) {
  const socket = new HandSocket(options.time);
  const udp = createUdpMetrics();
  const log = new LineCapture();
  const echo = echoDatagrams(socket, {
    logger: log.logger,
    metrics: udp,
    maxInFlight: options.maxInFlight,
  });
  return { socket, udp, log, echo };
}

/** The UDP counters: datagrams, bytes, and dropped and errors by label. */
function counts(udp: UdpMetrics) {
  const value = (metric: { get(): { values: { value: number }[] } }) =>
    metric.get().values[0]?.value;
  const byLabel = (
    metric: {
      get(): { values: { labels: Record<string, unknown>; value: number }[] };
    },
    label: string,
  ) =>
    Object.fromEntries(
      metric.get().values.map(({ labels, value }) => [labels[label], value]),
    );
  const errors = byLabel(udp.errors, "code");
  return {
    datagrams: value(udp.datagrams),
    bytes: value(udp.bytes),
    dropped: byLabel(udp.dropped, "reason"),
    errors,
  };
}

Deno.test("echoDatagrams() sends each datagram back to its source, counting it once sent", async () => {
  const { socket, udp, echo } = handEcho();
  socket.receive("ping", 5000);
  socket.receive("", 5001);
  assert.deepEqual(
    socket.sends.map(({ message, port, address }) => [
      new TextDecoder().decode(message),
      port,
      address,
    ]),
    [["ping", 5000, "192.0.2.1"], ["", 5001, "192.0.2.1"]],
  );
  assert.deepEqual(counts(udp), {
    datagrams: 0,
    bytes: 0,
    dropped: { busy: 0, source_port: 0 },
    errors: {},
  });
  for (const send of socket.sends) send.done(null);
  assert.deepEqual(counts(udp), {
    datagrams: 2,
    bytes: 4,
    dropped: { busy: 0, source_port: 0 },
    errors: {},
  });
  await echo.close();
});

Deno.test("echoDatagrams() counts a failed echo by its code, and warns at most once a second", async () => {
  const { socket, udp, log, echo } = handEcho();
  for (const port of [5000, 5001]) {
    socket.receive("x", port);
    socket.sends.at(-1)!.done(
      Object.assign(new Error("send EPERM"), { code: "EPERM" }),
    );
  }
  // node:dgram refuses some sends at once, such as on a socket closed.
  socket.throwOnSend = Object.assign(new Error("Not running"), {
    code: "ERR_SOCKET_DGRAM_NOT_RUNNING",
  });
  socket.receive("refused at once", 5002);
  socket.failReceive(Object.assign(new Error("recvmsg"), { code: "UNKNOWN" }));
  assert.deepEqual(counts(udp), {
    datagrams: 0,
    bytes: 0,
    dropped: { busy: 0, source_port: 0 },
    errors: { EPERM: 2, ERR_SOCKET_DGRAM_NOT_RUNNING: 1, UNKNOWN: 1 },
  });
  assert.deepEqual(log.lines, [
    'warning: udp echo failed remote=192.0.2.1:5000 error="send EPERM"',
  ]);
  await echo.close();
  // The held-back line goes out at close, with the count of the others.
  assert.deepEqual(log.lines.slice(1), [
    "warning: udp echo failed error=recvmsg held_back=2",
  ]);
});

Deno.test("echoDatagrams() drops and counts a datagram that comes while 64 echoes wait to be sent", async () => {
  const { socket, udp, echo } = handEcho();
  for (let i = 0; i < 65; i++) socket.receive(`${i}`);
  assert.equal(socket.sends.length, 64);
  assert.deepEqual(counts(udp).dropped, { busy: 1, source_port: 0 });
  socket.sends[0].done(null);
  socket.receive("room again");
  assert.equal(socket.sends.length, 65);
  for (const send of socket.sends.slice(1)) send.done(null);
  assert.deepEqual(counts(udp), {
    datagrams: 65,
    bytes: 10 + 2 * 54 + 10,
    dropped: { busy: 1, source_port: 0 },
    errors: {},
  });
  await echo.close();
});

Deno.test("echoDatagrams() echoes nothing from a port below 1024 or from its own, and counts it", async () => {
  const socket = new HandSocket();
  const udp = createUdpMetrics();
  const echo = echoDatagrams(socket, {
    logger: new LineCapture().logger,
    metrics: udp,
    ownPort: 4000,
  });
  // A forged port 0, echo, chargen, DNS, the last privileged port, and
  // another echo server on this one's port: a loop in the making.
  for (const port of [0, 7, 19, 53, 1023, 4000]) socket.receive("x", port);
  assert.equal(socket.sends.length, 0);
  socket.receive("a client", 1024);
  socket.receive("a client", 4001);
  assert.deepEqual(socket.sends.map(({ port }) => port), [1024, 4001]);
  assert.deepEqual(counts(udp).dropped, { busy: 0, source_port: 6 });
  await echo.close();
});

Deno.test("echoDatagrams() once closed echoes nothing more, and closes the socket once the echoes under way are sent", async () => {
  using time = new FakeTime();
  const { socket, udp, echo } = handEcho({ time });
  socket.receive("under way");
  const ended = settlement(echo.close(), time);
  socket.receive("too late");
  assert.equal(socket.sends.length, 1);
  await time.tickAsync(500);
  assert.equal(socket.closedAt, undefined, "closed before the echo was sent");
  socket.sends[0].done(null);
  await time.runMicrotasks();
  assert.equal(socket.closedAt, 500);
  assert.equal(ended.at, 500);
  assert.equal(counts(udp).datagrams, 1);
});

Deno.test("echoDatagrams() once closed closes the socket after 1 s, not 2, however long an echo takes", async () => {
  using time = new FakeTime();
  const { socket, echo } = handEcho({ time });
  socket.receive("stuck");
  const ended = settlement(echo.close(), time);
  await time.tickAsync(999);
  assert.equal(socket.closedAt, undefined);
  await time.tickAsync(1);
  await time.runMicrotasks();
  assert.equal(socket.closedAt, 1_000);
  assert.equal(ended.at, 1_000);
});

/** A node:dgram client socket on 127.0.0.1, closed when disposed. */
async function udpClient(): Promise<Socket & AsyncDisposable> {
  const { createSocket } = await import("node:dgram");
  const socket = createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  return Object.assign(socket, {
    [Symbol.asyncDispose]: () =>
      new Promise<void>((resolve) => socket.close(() => resolve())),
  });
}

/** Sends `data` to `port` from `client` and returns the next datagram back. */
function roundTrip(
  client: Socket,
  port: number,
  data: Uint8Array,
): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    client.once("message", (message) => resolve(new Uint8Array(message)));
    client.send(data, port, "127.0.0.1", (error) => error && reject(error));
  });
}

/** serveUdpEcho() on a free loopback port; stops it when disposed. */
async function udpEcho() {
  const metrics = createMetrics();
  const udp = serveUdpEcho({ hostname: "127.0.0.1", port: 0 }, {
    logger: new LineCapture().logger,
    metrics: metrics.udp,
  });
  const { port } = await udp.addr;
  return {
    port,
    metrics,
    [Symbol.asyncDispose]: () => udp.close(),
  };
}

test(
  `serveUdpEcho() echoes any datagram byte for byte, from 0 bytes to ${MAX_IPV4_DATAGRAM}, over a real socket`,
  async () => {
    await using echo = await udpEcho();
    await using client = await udpClient();
    let datagrams = 0;
    let bytes = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.constantFrom(0, 1, MAX_IPV4_DATAGRAM),
          fc.integer({ min: 0, max: MAX_IPV4_DATAGRAM }),
        ).chain((length) =>
          fc.uint8Array({ minLength: length, maxLength: length })
        ),
        async (data) => {
          assert.deepEqual(await roundTrip(client, echo.port, data), data);
          datagrams++;
          bytes += data.length;
        },
      ),
      { numRuns: 60 },
    );
    const samples = parseMetrics(await echo.metrics.text.read());
    assert.equal(samples.get("echoserver_udp_datagrams_total"), datagrams);
    assert.equal(samples.get("echoserver_udp_bytes_total"), bytes);
  },
  30_000,
);

test(`a datagram of ${MAX_IPV4_DATAGRAM} bytes is the largest IPv4 takes: one byte more cannot be sent`, async () => {
  await using client = await udpClient();
  await using echo = await udpEcho();
  const error = await new Promise<Error | null>((resolve) =>
    client.send(
      new Uint8Array(MAX_IPV4_DATAGRAM + 1),
      echo.port,
      "127.0.0.1",
      resolve,
    )
  );
  assert.match(String(error), /EMSGSIZE/);
});

test("serveUdpEcho() does not echo a datagram from its own port number, as another echo server would send", async () => {
  await using echo = await udpEcho();
  const { createSocket } = await import("node:dgram");
  // The same port on another loopback address: as a second echo server.
  const twin = createSocket("udp4");
  await new Promise<void>((resolve) =>
    twin.bind(echo.port, "127.0.0.2", resolve)
  );
  await using client = await udpClient();
  const twinGot: Uint8Array[] = [];
  twin.on("message", (message) => twinGot.push(message));
  await new Promise((resolve) =>
    twin.send("loop?", echo.port, "127.0.0.1", resolve)
  );
  // A client's datagram after it comes back, so the twin's was handled first.
  const back = await roundTrip(client, echo.port, new Uint8Array([1]));
  assert.deepEqual(back, new Uint8Array([1]));
  await new Promise<void>((resolve) => twin.close(() => resolve()));
  assert.deepEqual(twinGot, []);
  const samples = parseMetrics(await echo.metrics.text.read());
  assert.equal(
    samples.get('echoserver_udp_dropped_total{reason="source_port"}'),
    1,
  );
});

test(`serveUdpEcho() on ::1 echoes ${MAX_IPV6_DATAGRAM} bytes, the largest IPv6 takes`, async () => {
  const udp = serveUdpEcho({ hostname: "::1", port: 0 }, {
    logger: new LineCapture().logger,
    metrics: createUdpMetrics(),
  });
  const { port } = await udp.addr;
  const { createSocket } = await import("node:dgram");
  const client = createSocket("udp6");
  try {
    const data = crypto.getRandomValues(new Uint8Array(MAX_IPV6_DATAGRAM));
    const back = new Promise<Uint8Array>((resolve) =>
      client.once("message", (message) => resolve(new Uint8Array(message)))
    );
    client.send(data, port, "::1");
    assert.deepEqual(await back, data);
    const tooLarge = await new Promise<Error | null>((resolve) =>
      client.send(new Uint8Array(MAX_IPV6_DATAGRAM + 1), port, "::1", resolve)
    );
    assert.match(String(tooLarge), /EMSGSIZE/);
  } finally {
    await new Promise<void>((resolve) => client.close(() => resolve()));
    await udp.close();
  }
});

test("serveUdpEcho() on a port in use rejects, naming the address, and leaves nothing open", async () => {
  await using taken = await udpClient();
  const { port } = taken.address();
  const udp = serveUdpEcho({ hostname: "127.0.0.1", port }, {
    logger: new LineCapture().logger,
    metrics: createUdpMetrics(),
  });
  await assert.rejects(udp.addr, {
    message: `cannot listen on 127.0.0.1:${port}/udp: bind EADDRINUSE ` +
      `127.0.0.1:${port}`,
  });
  // Nothing to close: it settles at once, twice alike.
  await udp.close();
  assert.equal(udp.close(), udp.close());
});

test("startServer() with UDP echo closes its socket on shutdown, with everything else", async () => {
  const shutdown = new AbortController();
  const server = startServer(
    loopbackConfig({
      logLevel: "error",
      udp: { hostname: "127.0.0.1", port: 0 },
    }),
    { shutdown },
  );
  const { port } = await server.udpAddr!;
  await using client = await udpClient();
  assert.deepEqual(
    await roundTrip(client, port, new Uint8Array([1, 2, 3])),
    new Uint8Array([1, 2, 3]),
  );
  shutdown.abort("test over");
  await server.finished;
  // Closed: the port can be bound again.
  const { createSocket } = await import("node:dgram");
  const again = createSocket("udp4");
  await new Promise<void>((resolve) => again.bind(port, "127.0.0.1", resolve));
  await new Promise<void>((resolve) => again.close(() => resolve()));
});

test("startServer() without UDP echo opens no UDP socket", async () => {
  const shutdown = new AbortController();
  const server = startServer(loopbackConfig({ logLevel: "error" }), {
    shutdown,
  });
  assert.equal(server.udpAddr, undefined);
  shutdown.abort("test over");
  await server.finished;
});

/** The service with UDP echo on a free port; its ports, UDP's included. */
async function serviceWithUdp(
  udp: { args: string[]; env?: Record<string, string> } = { args: ["--udp"] },
) {
  const service = new ServiceProcess([...LOOPBACK_ANY_PORT, ...udp.args], {
    env: udp.env,
  });
  const ports = await service.ports();
  const udpLine = await service.stdout.waitFor("udp listening on ");
  return {
    service,
    ports: { ...ports, udp: Number(udpLine.match(/:(\d+)$/)![1]) },
  };
}

test(
  "main.ts with --udp prints a third line, echoes to nc -u and socat, counts each datagram, and closes it all on POST /die",
  async () => {
    const { service, ports } = await serviceWithUdp();
    await using _service = service;
    assert.deepEqual(service.stdout.lines, [
      `echo listening on 127.0.0.1:${ports.echo}`,
      `http listening on http://127.0.0.1:${ports.http}/`,
      `udp listening on 127.0.0.1:${ports.udp}`,
    ]);
    // nc sends one datagram and exits when one comes back (-W 1).
    await using nc = new ClientProcess("nc", [
      ...["-u", "-W", "1", "127.0.0.1", `${ports.udp}`],
    ]);
    await nc.write("hey there\n");
    assert.equal(new TextDecoder().decode(await nc.read(100)), "hey there\n");
    assert.equal((await nc.status).code, 0);

    // socat reads the start of a file (Deno's own binary) in one read, so it
    // goes out as one datagram of the largest size.
    const file = Deno.execPath();
    const data = new Uint8Array(MAX_IPV4_DATAGRAM);
    {
      using opened = await Deno.open(file);
      for (let read = 0; read < data.length;) {
        read += (await opened.read(data.subarray(read)))!;
      }
    }
    await using socat = new ClientProcess("socat", [
      "-b",
      "65536",
      `OPEN:${file},rdonly,readbytes=${MAX_IPV4_DATAGRAM}!!STDOUT`,
      `UDP:127.0.0.1:${ports.udp}`,
    ]);
    assert.deepEqual(await socat.read(MAX_IPV4_DATAGRAM), data);

    const url = `http://127.0.0.1:${ports.http}`;
    const samples = parseMetrics(await (await fetch(`${url}/metrics`)).text());
    assert.equal(samples.get("echoserver_udp_datagrams_total"), 2);
    assert.equal(
      samples.get("echoserver_udp_bytes_total"),
      10 + MAX_IPV4_DATAGRAM,
    );
    const started = performance.now();
    await (await fetch(`${url}/die`, { method: "POST" })).body?.cancel();
    assert.equal((await service.status).code, 0);
    const ms = performance.now() - started;
    assert.ok(ms < 1_900, `exited ${ms} ms after POST /die`);
  },
  20_000,
);

test("main.ts with ECHOSERVER__UDP=true echoes datagrams too", async () => {
  const { service, ports } = await serviceWithUdp({
    args: [],
    env: { ECHOSERVER__UDP: "true" },
  });
  await using _service = service;
  await using nc = new ClientProcess("nc", [
    ...["-u", "-W", "1", "127.0.0.1", `${ports.udp}`],
  ]);
  await nc.write("from the environment");
  assert.equal(
    new TextDecoder().decode(await nc.read(100)),
    "from the environment",
  );
});

test("main.ts exits 1 with one line naming the address when the UDP port is in use", async () => {
  await using taken = await udpClient();
  const { port } = taken.address();
  await using service = new ServiceProcess([
    ...LOOPBACK_ANY_PORT,
    ...["--udp", "--udp-port", `${port}`],
  ]);
  await assertRefusesToStart(
    service,
    1,
    `cannot listen on 127.0.0.1:${port}/udp: bind EADDRINUSE`,
  );
});

test("main.ts without --udp prints two lines and has no UDP socket", async () => {
  await using service = new ServiceProcess(LOOPBACK_ANY_PORT);
  await service.ports();
  assert.equal(service.stdout.lines.length, 2);
  const { stdout } = await new Deno.Command("ss", { args: ["-Hulnp"] })
    .output();
  const own = new TextDecoder().decode(stdout).split("\n")
    .filter((line) => line.includes(`pid=${service.pid},`));
  assert.deepEqual(own, []);
});
