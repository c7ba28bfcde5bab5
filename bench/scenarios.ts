/**
 * The scenarios, run against one server per call (ping-pong, stream, health
 * check and shutdown on one instance, the idle scenario on a fresh one), and
 * the starts, which take turns between the servers. Each failure is recorded and the next scenario runs.
 *
 * @module
 */
import {
  holdIdle,
  type LoadClients,
  type LoadRun,
  type PingPongResult,
  runHealth,
  runLoadgen,
  runTlsHandshakes,
  runTlsStream,
  runWebSocketPingPong,
  type StreamResult,
} from "./clients.ts";
import { cpuSeconds, rssKiB } from "./processes.ts";
import type { FigureKey, LoadScenario, Results } from "./results.ts";
import {
  type Server,
  type ServerName,
  type ServerSpec,
  startServer,
  type TlsFiles,
} from "./servers.ts";
import { BUSY_CONNECTIONS, type Settings } from "./settings.ts";

/** What every scenario needs. */
export interface Bench {
  settings: Settings;
  clients: LoadClients;
  /** The descriptor limit of both sides of the idle scenario. */
  fileLimit: number;
  /** The certificate of the TLS scenarios. */
  tls: TlsFiles;
  results: Results;
}

/** loadgen's `udp` output: ping-pong's, and the datagrams lost. */
interface UdpResult extends PingPongResult {
  lost: number;
}

/** A pause before reading the server's memory, for lazy allocations. */
const IDLE_SETTLE_MS = 100;

/** The figures of ping-pong with 1 connection and with many. */
const PINGPONG = {
  single: ["pingpong1", "pingpong1Rate", "pingpong1P50", "pingpong1P99"],
  busy: ["pingpong50", "pingpong50Rate", "pingpong50P50", "pingpong50P99"],
} as const;

/**
 * Starts and stops every server `settings.starts` times, one after the
 * other in turn, timing each start; and records, for each turn, the
 * service's start over bare Deno's, which carries over to another machine
 * better than either figure.
 */
export async function benchStarts(
  bench: Bench,
  specs: readonly ServerSpec[],
): Promise<void> {
  const { results, settings } = bench;
  for (let turn = 1; turn <= settings.starts; turn++) {
    const startMs: Partial<Record<ServerName, number>> = {};
    for (const spec of specs) {
      const step = stepper(bench, spec);
      const server = await step("start", () => startServer(spec));
      if (!server) continue;
      startMs[spec.name] = server.startMs;
      results.add("startMs", spec.name, server.startMs);
      await step("stop after start", () => server.stop());
    }
    if (startMs.service !== undefined && startMs.deno !== undefined) {
      results.add("startOverDeno", "service", startMs.service / startMs.deno);
    }
  }
}

/** Which of {@linkcode benchLoad}'s scenarios run. */
export interface LoadParts {
  /** Ping-pong with 1 and with many connections, and the stream. */
  echo: boolean;
  /** The health check. */
  health: boolean;
  /** Ping-pong over WebSockets, on the servers that have them. */
  websocket: boolean;
}

/**
 * Starts the server with its defaults, runs ping-pong with 1 and with
 * {@linkcode BUSY_CONNECTIONS} connections, the stream, the health check and
 * ping-pong over {@linkcode BUSY_CONNECTIONS} WebSockets (those `parts` asks
 * for), then stops it (timing the stop).
 */
export async function benchLoad(
  bench: Bench,
  spec: ServerSpec,
  parts: LoadParts = { echo: true, health: true, websocket: true },
): Promise<void> {
  const { results } = bench;
  const step = stepper(bench, spec);
  const server = await step("start", () => startServer(spec));
  if (!server) return;

  if (parts.echo) {
    await step(
      "ping-pong 1",
      () => pingpong(bench, server, 1, PINGPONG.single),
    );
    await step(
      `ping-pong ${BUSY_CONNECTIONS}`,
      () => pingpong(bench, server, BUSY_CONNECTIONS, PINGPONG.busy),
    );
    await step("stream", () => stream(bench, server));
  }
  // Node's baseline has no WebSocket server.
  if (parts.websocket && spec.name !== "node") {
    await step(
      `WebSocket ping-pong ${BUSY_CONNECTIONS}`,
      () => websocket(bench, server),
    );
  }
  if (parts.health) await step("health", () => health(bench, server));

  const stopMs = await step("stop", () => server.stop());
  if (stopMs !== undefined) results.add("stopMs", spec.name, stopMs);
}

/**
 * Records the server's extra resident memory per idle connection, each on a
 * fresh server: with `settings.idleConnections` that echoed 1 byte each; and
 * with `settings.burstConnections` that echoed a burst each against as many
 * that echoed 1 byte, and the ratio of the two.
 */
export async function benchIdle(bench: Bench, spec: ServerSpec): Promise<void> {
  const { settings, results } = bench;
  const idle = await idleKiB(bench, spec, settings.idleConnections, 1);
  if (idle !== undefined) results.add("idleKiB", spec.name, idle);
  const { burstConnections: conns, burstBytes } = settings;
  const base = await idleKiB(bench, spec, conns, 1);
  const burst = await idleKiB(bench, spec, conns, burstBytes);
  if (base !== undefined) results.add("burstBaseKiB", spec.name, base);
  if (burst !== undefined) results.add("burstIdleKiB", spec.name, burst);
  if (base !== undefined && burst !== undefined) {
    results.add("burstOverBase", spec.name, burst / base);
  }
}

/**
 * Starts a fresh server with the descriptor limit raised (and the service
 * with long idle timeouts), has `conns` connections each echo `bytes` and
 * stay open, and returns the server's extra resident memory per connection,
 * in KiB; undefined, with the failure recorded, if that fails.
 */
async function idleKiB(
  bench: Bench,
  spec: ServerSpec,
  conns: number,
  bytes: number,
): Promise<number | undefined> {
  const { settings, clients, fileLimit } = bench;
  const step = stepper(bench, spec);
  const what = `idle after ${bytes} B`;
  const server = await step(
    `${what} start`,
    () => startServer(spec, { idle: true, fileLimit }),
  );
  if (!server) return undefined;
  const kiB = await step(what, async () => {
    const before = await rssKiB(server.pid);
    const hold = await holdIdle(clients, server.ports.echo, conns, {
      fileLimit,
      timeoutMs: settings.idleOpenLimitMs,
      bytes,
    });
    try {
      if (hold.echoed < conns) {
        throw new Error(`only ${hold.echoed} of ${conns} connections echoed`);
      }
      await new Promise((resolve) => setTimeout(resolve, IDLE_SETTLE_MS));
      return (await rssKiB(server.pid) - before) / conns;
    } finally {
      await hold.release();
    }
  });
  await step(`${what} stop`, () => server.stop());
  return kiB;
}

/**
 * Starts the server's TLS variant, runs the stream over TLS and counts
 * handshakes, then stops it with SIGTERM (start and stop are not timed).
 */
export async function benchTls(bench: Bench, spec: ServerSpec): Promise<void> {
  const { settings: { streamChunk, warmupMs, durationMs } } = bench;
  const tlsSpec: ServerSpec = {
    ...spec,
    label: `${spec.label} TLS`,
    argv: spec.tlsArgv(bench.tls),
    stopBy: "sigterm",
  };
  const step = stepper(bench, tlsSpec);
  const server = await step("start", () => startServer(tlsSpec));
  if (!server) return;
  await step("stream", async () => {
    const run = await runTlsStream(bench.tls.certFile, [
      ...[server.ports.echo, streamChunk, warmupMs, durationMs],
    ], warmupMs + durationMs);
    const megabytesPerSecond = run.result.bytes / run.result.seconds / 1e6;
    record(bench, server, "tlsStream", run, [
      ["tlsStreamRate", megabytesPerSecond],
    ]);
  });
  await step("handshakes", async () => {
    const seconds = Math.max(1, Math.round((warmupMs + durationMs) / 1000));
    const run = await runTlsHandshakes(server.ports.echo, seconds);
    record(bench, server, "tlsHandshakes", run, [
      ["tlsHandshakeRate", run.result.handshakes / run.result.seconds],
    ]);
  });
  await step("stop", () => server.stop());
}

/**
 * Starts the server with its UDP echo, runs UDP ping-pong of
 * `settings.messageSize`-byte datagrams from 1 socket and from
 * {@linkcode BUSY_CONNECTIONS}, then stops it (not timed). A datagram lost
 * costs its socket 100 ms, so losses show in the rate; any is a failure.
 */
export async function benchUdp(bench: Bench, spec: ServerSpec): Promise<void> {
  const { settings: { messageSize, warmupMs, durationMs } } = bench;
  const udpSpec = { ...spec, label: `${spec.label} UDP` };
  const step = stepper(bench, udpSpec);
  const server = await step("start", () => startServer(spec, { udp: true }));
  if (!server) return;
  const runs = [
    [1, "udp1", "udp1Rate"],
    [BUSY_CONNECTIONS, "udp50", "udp50Rate"],
  ] as const;
  for (const [sockets, scenario, rate] of runs) {
    await step(`ping-pong ${sockets}`, async () => {
      const run = await runLoadgen<UdpResult>(bench.clients, [
        ...["udp", server.ports.udp!, sockets, messageSize],
        ...[warmupMs, durationMs],
      ], warmupMs + durationMs);
      const { result } = run;
      if (result.lost > 0) {
        throw new Error(`${result.lost} of the datagrams were lost`);
      }
      const figures: [FigureKey, number][] = [
        [rate, result.messages / result.seconds],
      ];
      if (scenario === "udp50") figures.push(["udp50P99", result.p99_us]);
      record(bench, server, scenario, run, figures);
    });
  }
  await step("stop", () => server.stop());
}

async function pingpong(
  bench: Bench,
  server: Server,
  conns: number,
  [scenario, rate, p50, p99]: readonly [
    LoadScenario,
    FigureKey,
    FigureKey,
    FigureKey,
  ],
): Promise<void> {
  const { settings: { messageSize, warmupMs, durationMs } } = bench;
  const run = await runLoadgen<PingPongResult>(bench.clients, [
    ...["pingpong", server.ports.echo, conns, messageSize],
    ...[warmupMs, durationMs],
  ], warmupMs + durationMs);
  const { result } = run;
  record(bench, server, scenario, run, [
    [rate, result.messages / result.seconds],
    [p50, result.p50_us],
    [p99, result.p99_us],
  ]);
}

/** Ping-pong over {@linkcode BUSY_CONNECTIONS} WebSockets on `GET /ws`. */
async function websocket(bench: Bench, server: Server): Promise<void> {
  const { settings: { messageSize, warmupMs, durationMs } } = bench;
  const run = await runWebSocketPingPong([
    ...[server.ports.http, BUSY_CONNECTIONS, messageSize],
    ...[warmupMs, durationMs],
  ], warmupMs + durationMs);
  const { result } = run;
  record(bench, server, "websocket", run, [
    ["websocketRate", result.messages / result.seconds],
    ["websocketP50", result.p50_us],
    ["websocketP99", result.p99_us],
  ]);
}

async function stream(bench: Bench, server: Server): Promise<void> {
  const { settings: { streamChunk, warmupMs, durationMs } } = bench;
  const run = await runLoadgen<StreamResult>(bench.clients, [
    ...["stream", server.ports.echo, streamChunk, warmupMs, durationMs],
  ], warmupMs + durationMs);
  const megabytesPerSecond = run.result.bytes / run.result.seconds / 1e6;
  record(bench, server, "stream", run, [["streamRate", megabytesPerSecond]]);
}

/**
 * The health check's rate, and the server's CPU time per request when the
 * client counts every request: a figure the load client's own limits do not
 * blur.
 */
async function health(bench: Bench, server: Server): Promise<void> {
  const { settings: { warmupMs, durationMs } } = bench;
  const port = server.ports.http;
  const cpuFrom = await cpuSeconds(server.pid);
  const run = await runHealth(bench.clients, port, warmupMs, durationMs);
  const cpuTo = await cpuSeconds(server.pid);
  const { requestsPerSecond, requests } = run.result;
  const cpu: [FigureKey, number][] =
    requests && cpuFrom !== undefined && cpuTo !== undefined
      ? [["healthCpu", (cpuTo - cpuFrom) * 1e6 / requests]]
      : [];
  record(bench, server, "health", run, [
    ["healthRate", requestsPerSecond],
    ...cpu,
  ]);
}

function record(
  bench: Bench,
  server: Server,
  scenario: LoadScenario,
  run: LoadRun<unknown>,
  figures: [FigureKey, number][],
): void {
  const name = server.spec.name;
  for (const [key, value] of figures) bench.results.add(key, name, value);
  if (run.cpu !== undefined) bench.results.addCpu(scenario, name, run.cpu);
}

/**
 * Runs one step of a server's scenarios: its value, or undefined with the
 * failure recorded (and logged) under the server's label and `what`.
 */
function stepper(bench: Bench, spec: ServerSpec) {
  return async <T>(
    what: string,
    step: () => Promise<T>,
  ): Promise<T | undefined> => {
    try {
      return await step();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      bench.results.failures.push(`${spec.label} ${what}: ${message}`);
      console.error(`FAILED ${spec.label} ${what}: ${message}`);
      return undefined;
    }
  };
}
