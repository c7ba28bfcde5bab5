/**
 * The bare Deno baseline: a TCP echo loop with one 16 KiB buffer per
 * connection and nothing else, plus `Deno.serve` with a Hono
 * `/healthcheck` route and a `/ws` route that echoes each WebSocket message
 * with `Deno.upgradeWebSocket` and nothing else. With
 * `--tls-cert FILE --tls-key FILE`, the same over `Deno.listenTls` and HTTPS.
 * With `--udp`, also a UDP echo on a `node:dgram` socket, as the service's
 * is: each datagram sent back as it comes; with `--udp-native`, the same on
 * `Deno.listenDatagram` with one reused buffer (which needs `--unstable-net`),
 * to measure what `node:dgram` costs. Prints its ports in the service's
 * format and exits on SIGTERM. Run it from the project root so that the
 * import map in deno.json resolves "hono":
 *
 * ```sh
 * deno run --allow-net bench/baselines/deno_echo.ts
 * deno run --allow-net --allow-read bench/baselines/deno_echo.ts --tls-cert cert.pem --tls-key key.pem
 * deno run --allow-net bench/baselines/deno_echo.ts --udp
 * deno run --allow-net --unstable-net bench/baselines/deno_echo.ts --udp-native
 * ```
 *
 * @module
 */
import { Hono } from "hono";

// Read by hand: importing node:util to parse them would start Deno's Node
// compatibility layer, which takes longer than the rest of this start.
const flag = (name: string) => {
  const at = Deno.args.indexOf(name);
  return at === -1 ? undefined : Deno.args[at + 1];
};
const [certFile, keyFile] = [flag("--tls-cert"), flag("--tls-key")];
const tls = certFile && keyFile
  ? {
    cert: Deno.readTextFileSync(certFile),
    key: Deno.readTextFileSync(keyFile),
  }
  : undefined;

const address = { hostname: "127.0.0.1", port: 0 };
const listener = tls
  ? Deno.listenTls({ ...address, ...tls })
  : Deno.listen(address);
const app = new Hono()
  .get("/healthcheck", (c) => c.text("ok computer"))
  .get("/ws", (c) => {
    const { socket, response } = Deno.upgradeWebSocket(c.req.raw);
    socket.onmessage = (event) => socket.send(event.data);
    return response;
  });
const http = Deno.serve({ ...address, ...tls, onListen() {} }, app.fetch);

const [echoScheme, httpScheme] = tls ? ["tls://", "https"] : ["", "http"];
console.log(`echo listening on ${echoScheme}127.0.0.1:${listener.addr.port}`);
console.log(`http listening on ${httpScheme}://127.0.0.1:${http.addr.port}/`);
Deno.addSignalListener("SIGTERM", () => Deno.exit(0));
if (Deno.args.includes("--udp")) echoDatagrams();
if (Deno.args.includes("--udp-native")) echoDatagramsNatively();

for await (const conn of listener) echo(conn);

async function echo(conn: Deno.Conn): Promise<void> {
  const buffer = new Uint8Array(16 * 1024);
  try {
    for (let size; (size = await conn.read(buffer)) !== null;) {
      for (let written = 0; written < size;) {
        written += await conn.write(buffer.subarray(written, size));
      }
    }
  } catch {
    // A reset peer or a failed handshake: nothing to do but close.
  } finally {
    conn.close();
  }
}

/** UDP echo on node:dgram, loaded only when asked for, as the service does. */
async function echoDatagrams(): Promise<void> {
  const { createSocket } = await import("node:dgram");
  const socket = createSocket("udp4");
  socket.on("message", (message, from) => {
    socket.send(message, from.port, from.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  console.log(`udp listening on 127.0.0.1:${socket.address().port}`);
}

/** UDP echo on Deno.listenDatagram, one datagram at a time, one buffer. */
async function echoDatagramsNatively(): Promise<void> {
  // deno-lint-ignore no-explicit-any
  const listenDatagram = (Deno as any).listenDatagram as (
    options: { hostname: string; port: number; transport: "udp" },
  ) => {
    addr: Deno.NetAddr;
    receive(buffer: Uint8Array): Promise<[Uint8Array, Deno.Addr]>;
    send(data: Uint8Array, to: Deno.Addr): Promise<number>;
  };
  const socket = listenDatagram({ ...address, transport: "udp" });
  console.log(`udp listening on 127.0.0.1:${socket.addr.port}`);
  const buffer = new Uint8Array(65_536);
  while (true) {
    const [message, from] = await socket.receive(buffer);
    await socket.send(message, from);
  }
}
