/**
 * The siege: issue 19's proof that no client holds the service's descriptors
 * past its deadlines. The service runs over TLS under `prlimit --nofile=256`
 * with 1 s deadlines, while a process of attackers (`siege/attackers.ts`)
 * keeps up silent clients on the TLS echo port and slowloris clients on the
 * HTTPS port (1,000 of each by default), opening new ones as they are cut,
 * at most 200 a second of each kind (as slowhttptest's `-c` and `-r` do).
 * Once the first deadlines have passed, a fresh TLS echo client and a fresh
 * `/healthcheck` over a new connection are each tried once a second, and
 * each must be served within a second. When the attackers go, the service's
 * sockets must come back to what they were before.
 *
 * ```sh
 * deno task siege [--seconds 30] [--attackers 1000] [--rate 200]
 * ```
 *
 * Prints a report; exits 0 when every probe was served in time and the
 * sockets came back, 1 otherwise.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { makeTestCertificate } from "../tests/_tls.ts";
import { withinTimeLimit } from "../tests/_time_limit.ts";
import { killed, spawn } from "./processes.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    seconds: { type: "string", default: "30" },
    attackers: { type: "string", default: "1000" },
    rate: { type: "string", default: "200" },
  },
});
const seconds = Number(values.seconds);
const attackers = Number(values.attackers);
const rate = Number(values.rate);

/** The descriptors the service may have, and the limits that fit in them. */
const NOFILE = 256;
const LIMITS = ["--max-connections", "25", "--http-max-connections", "45"];
/** Each deadline, in seconds: the probes start once the first have passed. */
const DEADLINE_S = 1;
/** How long a probe may take to be served. */
const PROBE_LIMIT_MS = 1_000;

const certificate = await makeTestCertificate();
const caCerts = [certificate.cert];

const service = spawn([
  "prlimit",
  `--nofile=${NOFILE}`,
  Deno.execPath(),
  "run",
  "--allow-net",
  "--allow-env",
  `--allow-read=${certificate.certFile},${certificate.keyFile}`,
  "main.ts",
  ...["--echo-host", "127.0.0.1", "--echo-port", "0", "--http-port", "0"],
  ...["--tls-cert", certificate.certFile, "--tls-key", certificate.keyFile],
  ...["--idle-timeout", `${DEADLINE_S}`],
  ...["--http-idle-timeout", `${DEADLINE_S}`],
  ...["--http-request-timeout", `${DEADLINE_S}`],
  ...LIMITS,
  ...["--log-level", "warning"],
]);
const stderrLines: string[] = [];
collectLines(service.stderr, stderrLines);
const stdoutLines: string[] = [];
const stdout = collectLines(service.stdout, stdoutLines);

/** Adds each line of `stream` to `lines` as it comes. */
async function collectLines(
  stream: ReadableStream<Uint8Array>,
  lines: string[],
): Promise<void> {
  let partial = "";
  for await (const text of stream.pipeThrough(new TextDecoderStream())) {
    const parts = (partial + text).split("\n");
    partial = parts.pop()!;
    lines.push(...parts);
  }
}

/** The ports from the service's startup lines. */
async function ports(): Promise<{ echo: number; http: number }> {
  while (stdoutLines.length < 2) {
    await Promise.race([stdout, new Promise((r) => setTimeout(r, 20))]);
    if (stdoutLines.length < 2 && (await statusNow()) !== undefined) {
      throw new Error(`the service exited: ${stderrLines.join("\n")}`);
    }
  }
  const port = (line: string) => Number(line.match(/:(\d+)\/?$/)![1]);
  return { echo: port(stdoutLines[0]), http: port(stdoutLines[1]) };
}

/** The service's exit status, if it has exited. */
async function statusNow(): Promise<Deno.CommandStatus | undefined> {
  return await Promise.race([service.status, Promise.resolve(undefined)]);
}

/** The sockets the service holds, from /proc. */
async function sockets(): Promise<number> {
  const { stdout } = await new Deno.Command("ls", {
    args: ["-l", `/proc/${service.pid}/fd`],
    stderr: "null",
  }).output();
  return new TextDecoder().decode(stdout).split("-> socket:").length - 1;
}

/**
 * Runs `probe` on a fresh connection: how long it took to be served, or
 * undefined when it was not within {@linkcode PROBE_LIMIT_MS}.
 */
async function timed(
  probe: (conns: Deno.Conn[]) => Promise<boolean>,
): Promise<number | undefined> {
  const conns: Deno.Conn[] = [];
  const start = performance.now();
  try {
    const served = await withinTimeLimit(probe(conns), PROBE_LIMIT_MS);
    return served ? performance.now() - start : undefined;
  } catch {
    return undefined;
  } finally {
    for (const conn of conns) conn.close();
  }
}

/** A fresh TLS echo client: "ping" must come back. */
function echoProbe(port: number) {
  return async (conns: Deno.Conn[]) => {
    const conn = await Deno.connectTls({
      hostname: "127.0.0.1",
      port,
      caCerts,
    });
    conns.push(conn);
    await conn.write(new TextEncoder().encode("ping"));
    const buffer = new Uint8Array(4);
    for (let at = 0; at < 4;) {
      const size = await conn.read(buffer.subarray(at));
      if (size === null) return false;
      at += size;
    }
    return new TextDecoder().decode(buffer) === "ping";
  };
}

/** A fresh `/healthcheck` over a new HTTPS connection: 200 ok computer. */
function healthProbe(port: number) {
  return async (conns: Deno.Conn[]) => {
    const conn = await Deno.connectTls({
      hostname: "127.0.0.1",
      port,
      caCerts,
    });
    conns.push(conn);
    await conn.write(new TextEncoder().encode(
      "GET /healthcheck HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    ));
    let text = "";
    const buffer = new Uint8Array(1024);
    for (let size; (size = await conn.read(buffer)) !== null;) {
      text += new TextDecoder().decode(buffer.subarray(0, size));
    }
    return text.startsWith("HTTP/1.1 200 ") && text.endsWith("ok computer");
  };
}

/** The median and the largest of `values`. */
function summary(values: number[]): string {
  if (values.length === 0) return "none";
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  return `median ${median.toFixed(1)} ms, max ${sorted.at(-1)!.toFixed(1)} ms`;
}

const { echo, http } = await ports();
const baseline = await sockets();
console.log(
  `siege: service pid ${service.pid} under --nofile=${NOFILE} with ${
    LIMITS.join(" ")
  }, ${DEADLINE_S} s deadlines; ${baseline} sockets before`,
);
const attack = spawn([
  Deno.execPath(),
  "run",
  "--allow-net",
  `--allow-read=${certificate.certFile}`,
  "bench/siege/attackers.ts",
  ...[echo, http, certificate.certFile, attackers, rate].map(String),
]);
const attackLines: string[] = [];
collectLines(attack.stdout, attackLines);
collectLines(attack.stderr, attackLines);

const probes = {
  echo: [] as (number | undefined)[],
  health: [] as (number | undefined)[],
};
let mostSockets = 0;
const started = performance.now();
for (let second = 1; second <= seconds; second++) {
  const due = started + second * 1_000;
  await new Promise((resolve) =>
    setTimeout(resolve, Math.max(0, due - performance.now()))
  );
  mostSockets = Math.max(mostSockets, await sockets());
  if (second <= 2 * DEADLINE_S) continue;
  const [echoMs, healthMs] = await Promise.all([
    timed(echoProbe(echo)),
    timed(healthProbe(http)),
  ]);
  probes.echo.push(echoMs);
  probes.health.push(healthMs);
}
await killed(attack);
let after = await sockets();
for (let tries = 0; after > baseline && tries < 60; tries++) {
  await new Promise((resolve) => setTimeout(resolve, 50));
  after = await sockets();
}

const died = await statusNow();
let stoppedBy = "POST /die";
if (died === undefined) {
  const client = Deno.createHttpClient({ caCerts });
  try {
    await (await fetch(`https://localhost:${http}/die`, {
      method: "POST",
      client,
      signal: AbortSignal.timeout(PROBE_LIMIT_MS),
    })).body?.cancel();
  } catch {
    // It does not answer: it is stopped the hard way, and that fails the run.
    stoppedBy = "SIGKILL";
    service.kill("SIGKILL");
  } finally {
    client.close();
  }
}
const status = await withinTimeLimit(service.status, 5_000, "service exit");

const missed = (list: (number | undefined)[]) =>
  list.filter((ms) => ms === undefined).length;
const served = (list: (number | undefined)[]) =>
  list.filter((ms): ms is number => ms !== undefined);
const attackRates = attackLines.filter((line) => line.startsWith("open="));
console.log(
  `attackers: up to ${attackers} silent TLS + ${attackers} slowloris HTTPS open, at most ${rate} new a second of each`,
);
console.log(`attack, per second: ${attackRates.slice(2, 5).join("; ")} ...`);
console.log(
  `echo probes: ${
    served(probes.echo).length
  } of ${probes.echo.length} served within ${PROBE_LIMIT_MS} ms (${
    summary(served(probes.echo))
  })`,
);
console.log(
  `health probes: ${
    served(probes.health).length
  } of ${probes.health.length} served within ${PROBE_LIMIT_MS} ms (${
    summary(served(probes.health))
  })`,
);
console.log(
  `sockets: ${baseline} before, at most ${mostSockets} during, ${after} after the attackers left`,
);
const warnings = new Map<string, number>();
for (const line of stderrLines) {
  const kind = line.replace(/ (held_back|count|error|max_connections)=.*/, "");
  warnings.set(kind, (warnings.get(kind) ?? 0) + 1);
}
for (const [kind, count] of warnings) console.log(`stderr: ${count} × ${kind}`);
console.log(`service exit: ${status.code}, stopped by ${stoppedBy}`);
const ok = missed(probes.echo) === 0 && missed(probes.health) === 0 &&
  after === baseline && status.code === 0;
console.log(ok ? "siege: held" : "siege: FAILED");
Deno.exit(ok ? 0 : 1);
