/**
 * The soak's knobs: the service's idle timeouts, the mix of clients and the
 * sizes and limits each kind of client works with.
 *
 * @module
 */

/** Where the service listens and the clients connect. */
export const HOST = "127.0.0.1";
export const KiB = 1024;
export const MiB = 1024 * KiB;

/** The service's idle timeouts: short, so idle clients time out in a run. */
export const IDLE_TIMEOUT_MS = 1_000;
export const IDLE_REFRESH_MS = 2_000;

/** How many clients of each kind run at once. */
export const WORKERS = {
  fullDuplex: 50,
  halfClose: 5,
  reset: 5,
  idle: 5,
  nonReader: 2,
  garbage: 1,
};

/** The most time any one client connection may take before it is cut. */
export const CLIENT_LIMIT_MS = 30_000;
/** After a client fails, its worker waits this long before the next one. */
export const ERROR_PAUSE_MS = 100;

/** How much an echo client sends, in how many chunks, with what pauses. */
export interface EchoShape {
  chunksMax: number;
  chunkMax: number;
  pauseMaxMs: number;
  /**
   * Whether it reads the echo while it sends; if not it half-closes first,
   * so it sends little enough for the connection to buffer all of it.
   */
  duplex: boolean;
}

/** Sends a lot while reading it back. */
export const FULL_DUPLEX: EchoShape = {
  chunksMax: 16,
  chunkMax: 256 * KiB,
  pauseMaxMs: 50,
  duplex: true,
};

/** Sends a little, half-closes, then reads. */
export const HALF_CLOSE: EchoShape = {
  chunksMax: 4,
  chunkMax: 12 * KiB,
  pauseMaxMs: 50,
  duplex: false,
};

export const RESET_BYTES = { min: 4 * KiB, max: 256 * KiB };
/** How long a resetting client lets echoed data pile up unread. */
export const RESET_LINGER_MS = 10;

export const IDLE_LIMIT_MS = IDLE_TIMEOUT_MS + 4_000;
/**
 * An idle client closed sooner than this after it began to connect was closed
 * too early; the 10 ms spare are for the clocks' granularity.
 */
export const IDLE_EARLIEST_MS = IDLE_TIMEOUT_MS - 10;

export const NON_READER_BYTES = { min: 2 * MiB, max: 4 * MiB };
/** How long a non-reader stays connected, whether its writes got stuck. */
export const NON_READER_HOLD_MS = 1_500;

export const GARBAGE_LIMIT_MS = 3_000;
export const GARBAGE_PAUSE_MS = 100;

export const HEALTH_INTERVAL_MS = 100;
export const HEALTH_LIMIT_MS = 2_000;
