/**
 * The Node baseline: a node:net echo server that pipes each socket into
 * itself, plus node:http answering `GET /healthcheck`. Prints its ports in
 * the service's two-line format and exits on SIGTERM.
 *
 * ```sh
 * node bench/baselines/node_echo.mjs
 * ```
 *
 * @module
 */
import { createServer as createHttpServer } from "node:http";
import { createServer as createTcpServer } from "node:net";
import { once } from "node:events";

const BODY = "ok computer";

const echo = createTcpServer((socket) => {
  socket.on("error", () => socket.destroy());
  socket.pipe(socket);
});
const http = createHttpServer((request, response) => {
  const found = request.url === "/healthcheck" && request.method === "GET";
  response.writeHead(found ? 200 : 404, {
    "content-type": "text/plain; charset=UTF-8",
    "content-length": found ? BODY.length : 0,
  });
  response.end(found ? BODY : undefined);
});

echo.listen(0, "127.0.0.1");
http.listen(0, "127.0.0.1");
await Promise.all([once(echo, "listening"), once(http, "listening")]);
console.log(`echo listening on 127.0.0.1:${echo.address().port}`);
console.log(`http listening on http://127.0.0.1:${http.address().port}/`);
process.on("SIGTERM", () => process.exit(0));
