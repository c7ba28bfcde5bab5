/**
 * UDP echo (RFC 862, `--udp`): each datagram back to its sender, on a socket
 * from `node:dgram`.
 *
 * Why `node:dgram` and not `Deno.listenDatagram`: in Deno 2.9 the latter
 * still needs `--unstable-net`, and a flag is for the whole process. The
 * start task, the compiled binary, the container and every unit that runs
 * them would carry it, UDP on or off, and with it every other unstable
 * network API (`reusePort` among them) and the chance that a Deno release
 * changes it. `node:dgram` is a stable API that needs nothing beyond
 * `--allow-net`. Its costs, measured (docs/performance.md): starting Deno's
 * Node compatibility layer when UDP is on (this module loads it with a
 * dynamic import, so a service without `--udp` loads no `node:` module), and
 * per datagram a 64 KiB receive buffer and a copy on send, which a bare
 * `Deno.listenDatagram` loop that reuses one buffer does not pay.
 *
 * @module
 */
import type { Socket } from "node:dgram";
import type { ListenAddress } from "../config.ts";
import { formatHostPort } from "../net_addr.ts";
import { errorMessage } from "../error_message.ts";
import { type DatagramEchoOptions, echoDatagrams } from "./datagram_echo.ts";

/** A UDP echo that {@linkcode serveUdpEcho} started. */
export interface UdpEcho {
  /**
   * The address the socket is bound to, with the real port, once it is;
   * rejects, naming the address, when it cannot bind (then nothing is open).
   */
  addr: Promise<Deno.NetAddr>;
  /** Settles once the signal has aborted and the socket is closed. */
  finished: Promise<void>;
}

/**
 * Binds a UDP socket to `address` (IPv6 when its host is an IPv6 literal,
 * dual-stack for `::`) and echoes every datagram that comes to it (see
 * `echoDatagrams`) until the signal aborts.
 *
 * @example
 * ```ts
 * import { serveUdpEcho } from "./udp_echo.ts";
 * import { Logger } from "../observability/log.ts";
 * import { createMetrics } from "../observability/metrics.ts";
 * import assert from "node:assert/strict";
 *
 * const shutdown = new AbortController();
 * const udp = serveUdpEcho({ hostname: "127.0.0.1", port: 0 }, {
 *   signal: shutdown.signal,
 *   logger: new Logger("warning"),
 *   metrics: createMetrics().udp,
 * });
 * const { port } = await udp.addr;
 * assert.notEqual(port, 0);
 * shutdown.abort();
 * await udp.finished;
 * ```
 */
export function serveUdpEcho(
  address: ListenAddress,
  options: DatagramEchoOptions,
): UdpEcho {
  const bound = bind(address);
  return {
    addr: bound.then((socket) => {
      const { address, port } = socket.address();
      return { transport: "udp", hostname: address, port };
    }),
    finished: bound.then(
      (socket) =>
        echoDatagrams(socket, { ...options, ownPort: socket.address().port }),
      () => {},
    ),
  };
}

/** A `node:dgram` socket bound to `address`. */
async function bind(address: ListenAddress): Promise<Socket> {
  // Loaded here, not at the top: it starts Deno's Node compatibility layer.
  const { createSocket } = await import("node:dgram");
  const socket = createSocket(address.hostname.includes(":") ? "udp6" : "udp4");
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind(address.port, address.hostname, () => {
        socket.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    throw new Error(
      `cannot listen on ${formatHostPort(address)}/udp: ${errorMessage(error)}`,
      { cause: error },
    );
  }
  return socket;
}
