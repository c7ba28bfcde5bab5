import { errorCode, errorMessage } from "../net/error_message.ts";
import { formatHostPort } from "../net/net_addr.ts";
import type { Logger } from "../observability/log.ts";
import { ThrottledLog } from "../observability/throttled_log.ts";
import { pause } from "../waiting/pause.ts";
import type { UdpMetrics } from "./udp_metrics.ts";

/** Where a datagram came from, as `node:dgram` gives it. */
export interface DatagramSource {
  /** The sender's address, IPv4 or IPv6, as the datagram claims it. */
  address: string;
  /** The sender's port. */
  port: number;
}

/**
 * The part of a `node:dgram` socket that the echo uses; tests pass their own.
 */
export interface DatagramSocket {
  /** Calls `listener` with each datagram that comes, and where from. */
  on(
    event: "message",
    listener: (message: Uint8Array, source: DatagramSource) => void,
  ): unknown;
  /** Calls `listener` with each error the socket reports, such as a failed receive. */
  on(event: "error", listener: (error: Error) => void): unknown;
  /**
   * Sends `message` to `port` on `address`; calls `callback` once it is sent
   * or failed. It may also throw at once, for a port 0 say.
   */
  send(
    message: Uint8Array,
    port: number,
    address: string,
    callback: (error: Error | null) => void,
  ): void;
  /** Closes the socket; calls `callback` once it is closed. */
  close(callback: () => void): unknown;
}

/** What {@linkcode echoDatagrams} needs besides the socket. */
export interface DatagramEchoOptions {
  /** Where failed echoes are told, at most once a second. */
  logger: Logger;
  /** What the echo counts. */
  metrics: UdpMetrics;
  /**
   * Echoes waiting to be sent at once; a datagram that comes when this many
   * wait is dropped and counted, so that a flood cannot grow memory.
   * @default {64}
   */
  maxInFlight?: number;
  /**
   * The port the socket is bound to: a datagram from this port, as from
   * another echo server like this one, is dropped (see `fromServicePort`).
   */
  ownPort?: number;
  /**
   * Once {@linkcode DatagramEcho.close} is called, how long the echoes
   * already under way may take before the socket is closed anyway.
   * @default {1000}
   */
  drainMs?: number;
}

/** A UDP echo that {@linkcode echoDatagrams} runs until it is closed. */
export interface DatagramEcho {
  /**
   * Shuts the echo down, and settles once it is done: no datagram is echoed
   * any more, the echoes under way are sent (`drainMs` at most), and the
   * socket closes. Calling it again returns the same promise.
   */
  close(): Promise<void>;
}

/**
 * Echoes each datagram that comes to `socket` back to where it says it came
 * from, byte for byte, empty ones included (RFC 862), until
 * {@linkcode DatagramEcho.close} is called. Each echo sent is counted in
 * datagrams and bytes; one that fails (or a failed receive) is counted by its
 * error code and logged as a warning at most once a second. A datagram is dropped, and
 * counted by why, when `maxInFlight` echoes wait (`busy`), or when it comes
 * from a port below 1024 or from `ownPort` (`source_port`): only a service
 * sends from those, or a forger who names one, and echoing it could start a
 * loop between two echo services that ends only when a datagram is lost.
 *
 * @example
 * ```ts
 * import { echoDatagrams } from "./datagram_echo.ts";
 * import { Logger } from "../observability/log.ts";
 * import { createUdpMetrics } from "./udp_metrics.ts";
 * import assert from "node:assert/strict";
 *
 * const { createSocket } = await import("node:dgram");
 * const socket = createSocket("udp4");
 * await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
 * const udp = createUdpMetrics();
 * const echo = echoDatagrams(socket, { logger: new Logger("warning"), metrics: udp });
 *
 * const client = createSocket("udp4");
 * const echoed = new Promise((resolve) => client.once("message", resolve));
 * client.send("ping", socket.address().port, "127.0.0.1");
 * assert.equal(String(await echoed), "ping");
 * client.close();
 * await echo.close();
 * assert.equal(udp.datagrams.get().values[0].value, 1);
 * ```
 */
export function echoDatagrams(
  socket: DatagramSocket,
  options: DatagramEchoOptions,
): DatagramEcho {
  const { logger, metrics, maxInFlight = 64, drainMs = 1_000 } = options;
  // Aborted by close(): no more echoes, and the held-back warning goes out.
  const closing = new AbortController();
  const warnings = new ThrottledLog(logger, { signal: closing.signal });
  const failed = (error: unknown, fields: Record<string, string> = {}) => {
    metrics.errors.inc({ code: errorCode(error) });
    warnings.warning("udp echo failed", {
      ...fields,
      error: errorMessage(error),
    });
  };
  let inFlight = 0;
  /** Called once the last echo under way is sent, once close() waits for it. */
  let drained: (() => void) | undefined;
  const echo = (message: Uint8Array, source: DatagramSource) => {
    inFlight++;
    const done = (error: unknown) => {
      if (error) {
        const remote = formatHostPort({
          hostname: source.address,
          port: source.port,
        });
        failed(error, { remote });
      } else {
        metrics.datagrams.inc();
        metrics.bytes.inc(message.length);
      }
      if (--inFlight === 0) drained?.();
    };
    try {
      socket.send(message, source.port, source.address, done);
    } catch (error) {
      done(error);
    }
  };

  socket.on("message", (message, source) => {
    if (closing.signal.aborted) return;
    if (fromServicePort(source.port, options.ownPort)) {
      metrics.dropped.inc({ reason: "source_port" });
    } else if (inFlight >= maxInFlight) {
      metrics.dropped.inc({ reason: "busy" });
    } else echo(message, source);
  });
  socket.on("error", (error) => failed(error));

  const close = async () => {
    closing.abort();
    if (inFlight > 0) {
      const allSent = new AbortController();
      drained = () => allSent.abort();
      await pause(drainMs, allSent.signal);
    }
    await new Promise<void>((resolve) => socket.close(resolve));
  };
  let closed: Promise<void> | undefined;
  return {
    close() {
      closed ??= close();
      return closed;
    },
  };
}

/**
 * Whether a datagram from `port` may come from a service rather than a
 * client: a port below 1024 (echo is 7, chargen 19, DNS 53; clients send
 * from the ephemeral range), or `ownPort`, where another echo server like
 * this one would send from. inetd refuses its datagram services' ports so.
 */
function fromServicePort(port: number, ownPort?: number): boolean {
  return port < 1024 || port === ownPort;
}
