/**
 * The bare Deno baseline: a TCP echo loop with one 16 KiB buffer per
 * connection and nothing else, plus `Deno.serve` with a Hono
 * `/healthcheck` route. Prints its ports in the service's two-line format
 * and exits on SIGTERM. Run it from the project root so that the import map
 * in deno.json resolves "hono":
 *
 * ```sh
 * deno run --allow-net bench/baselines/deno_echo.ts
 * ```
 *
 * @module
 */
import { Hono } from "hono";

const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
const app = new Hono().get("/healthcheck", (c) => c.text("ok computer"));
const http = Deno.serve(
  { hostname: "127.0.0.1", port: 0, onListen() {} },
  app.fetch,
);

console.log(`echo listening on 127.0.0.1:${listener.addr.port}`);
console.log(`http listening on http://127.0.0.1:${http.addr.port}/`);
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
    // A reset peer: nothing to do but close.
  } finally {
    conn.close();
  }
}
