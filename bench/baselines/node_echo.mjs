/**
 * The Node baseline: a node:net echo server that pipes each socket into
 * itself, plus node:http answering `GET /healthcheck`. With
 * `--tls-cert FILE --tls-key FILE`, node:tls and node:https instead. With
 * `--udp`, also a node:dgram socket that sends each datagram back. Prints
 * its ports in the service's format and exits on SIGTERM.
 *
 * ```sh
 * node bench/baselines/node_echo.mjs [--tls-cert cert.pem --tls-key key.pem] [--udp]
 * ```
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { createServer as createTcpServer } from "node:net";
import { createSocket } from "node:dgram";
import { createServer as createTlsServer } from "node:tls";
import { once } from "node:events";
import { parseArgs } from "node:util";

const BODY = "ok computer";

const { values: flags } = parseArgs({
  options: {
    "tls-cert": { type: "string" },
    "tls-key": { type: "string" },
    udp: { type: "boolean" },
  },
});
const tls = flags["tls-cert"] && flags["tls-key"]
  ? {
    cert: readFileSync(flags["tls-cert"]),
    key: readFileSync(flags["tls-key"]),
  }
  : undefined;

const onSocket = (socket) => {
  socket.on("error", () => socket.destroy());
  socket.pipe(socket);
};
const onRequest = (request, response) => {
  const found = request.url === "/healthcheck" && request.method === "GET";
  response.writeHead(found ? 200 : 404, {
    "content-type": "text/plain; charset=UTF-8",
    "content-length": found ? BODY.length : 0,
  });
  response.end(found ? BODY : undefined);
};
const echo = tls ? createTlsServer(tls, onSocket) : createTcpServer(onSocket);
const http = tls
  ? createHttpsServer(tls, onRequest)
  : createHttpServer(onRequest);

echo.listen(0, "127.0.0.1");
http.listen(0, "127.0.0.1");
await Promise.all([once(echo, "listening"), once(http, "listening")]);
const [echoScheme, httpScheme] = tls ? ["tls://", "https"] : ["", "http"];
console.log(`echo listening on ${echoScheme}127.0.0.1:${echo.address().port}`);
console.log(
  `http listening on ${httpScheme}://127.0.0.1:${http.address().port}/`,
);
if (flags.udp) {
  const udp = createSocket("udp4");
  udp.on("message", (message, from) => {
    udp.send(message, from.port, from.address);
  });
  udp.bind(0, "127.0.0.1");
  await once(udp, "listening");
  console.log(`udp listening on 127.0.0.1:${udp.address().port}`);
}
process.on("SIGTERM", () => process.exit(0));
