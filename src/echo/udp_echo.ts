/**
 * UDP echo (RFC 862, `--udp`): each datagram back to its sender, on a socket
 * from `node:dgram`.
 *
 * Why `node:dgram` and not `Deno.listenDatagram`: in Deno 2.9 the latter
 * still needs `--unstable-net`, and a flag is for the whole process. The
 * start task, the compiled binary (and so the container and the systemd
 * unit) would carry it whether UDP is on or off, and with it every other
 * unstable network API (QUIC, WebTransport, `reusePort`), none of which the
 * service uses, and an API that a Deno release may change. `node:dgram` is
 * stable and needs nothing beyond `--allow-net`.
 *
 * What it costs, measured (docs/performance.md#udp-echo): with UDP off,
 * nothing, since `server.ts` loads this module with a dynamic import and
 * nothing else loads a `node:` module before the ports open; with UDP on,
 * starting Deno's Node compatibility layer, about 12 ms more (49 ms). Per
 * datagram, Deno's `node:dgram` allocates a 64 KiB receive buffer and copies
 * each send, where a bare `Deno.listenDatagram` loop reuses one buffer: a
 * bare loop of each, pinned, echoed 26,000 and 55,000 datagrams a second to
 * one client, and 29,000 and 193,000 to 50 at once. This service echoes as
 * fast as the bare `node:dgram` loop (0.9x to 1.0x): for testing a path, tens
 * of thousands a second is plenty. Were `Deno.listenDatagram` stable, the
 * change would be here alone: `echoDatagrams` asks only for a small
 * `DatagramSocket`.
 *
 * @module
 */
import { createSocket, type Socket } from "node:dgram";
import { formatHostPort, type ListenAddress } from "../net/net_addr.ts";
import { errorMessage } from "../net/error_message.ts";
import { type DatagramEchoOptions, echoDatagrams } from "./datagram_echo.ts";

/** A UDP echo that {@linkcode serveUdpEcho} started. */
export interface UdpEcho {
  /**
   * The address the socket is bound to, with the real port, once it is;
   * rejects, naming the address, when it cannot bind (then nothing is open).
   */
  addr: Promise<Deno.NetAddr>;
  /**
   * Shuts the echo down, and settles once the socket is closed (see
   * `DatagramEcho.close`); at once when it never bound. Calling it again
   * returns the same promise.
   */
  close(): Promise<void>;
}

/**
 * Binds a UDP socket to `address` (IPv6 when its host is an IPv6 literal,
 * dual-stack for `::`) and echoes every datagram that comes to it (see
 * `echoDatagrams`) until {@linkcode UdpEcho.close} is called.
 *
 * @example
 * ```ts
 * import { serveUdpEcho } from "./udp_echo.ts";
 * import { Logger } from "../observability/log.ts";
 * import { createUdpMetrics } from "./udp_metrics.ts";
 * import assert from "node:assert/strict";
 *
 * const udp = serveUdpEcho({ hostname: "127.0.0.1", port: 0 }, {
 *   logger: new Logger("warning"),
 *   metrics: createUdpMetrics(),
 * });
 * const { port } = await udp.addr;
 * assert.notEqual(port, 0);
 * await udp.close();
 * ```
 */
export function serveUdpEcho(
  address: ListenAddress,
  options: DatagramEchoOptions,
): UdpEcho {
  const bound = bind(address);
  // None when the socket did not bind: `addr` says why.
  const running = bound.then(
    (socket) =>
      echoDatagrams(socket, { ...options, ownPort: socket.address().port }),
    () => undefined,
  );
  let closed: Promise<void> | undefined;
  return {
    addr: bound.then((socket) => {
      const { address, port } = socket.address();
      return { transport: "udp", hostname: address, port };
    }),
    close() {
      closed ??= running.then((echo) => echo?.close());
      return closed;
    },
  };
}

/** A `node:dgram` socket bound to `address`. */
async function bind(address: ListenAddress): Promise<Socket> {
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
