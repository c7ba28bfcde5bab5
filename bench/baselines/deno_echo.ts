/**
 * The bare Deno baseline: a TCP echo loop with one 16 KiB buffer per
 * connection and nothing else, plus `Deno.serve` with a Hono
 * `/healthcheck` route and a `/ws` route that echoes each WebSocket message
 * with `Deno.upgradeWebSocket` and nothing else. With `--tls-cert FILE --tls-key FILE`, the same over
 * `Deno.listenTls` and HTTPS. Prints its ports in the service's two-line
 * format and exits on SIGTERM. Run it from the project root so that the
 * import map in deno.json resolves "hono":
 *
 * ```sh
 * deno run --allow-net bench/baselines/deno_echo.ts
 * deno run --allow-net --allow-read bench/baselines/deno_echo.ts --tls-cert cert.pem --tls-key key.pem
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
