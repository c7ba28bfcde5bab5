/**
 * How long and how hard the benchmark runs, in full and in `--tiny` mode.
 *
 * @module
 */

/** The knobs of one benchmark run. */
export interface Settings {
  /** "full" for the real figures, "tiny" for a CI smoke run. */
  mode: "full" | "tiny";
  /** Rounds; each cycles through every server once. */
  rounds: number;
  /** Starts of each server per round, interleaved, for the start figures. */
  starts: number;
  /** Load before each measurement, not counted. */
  warmupMs: number;
  /** Each load measurement, after the warm-up. */
  durationMs: number;
  /** Connections held open in the idle scenario, each after 1 byte. */
  idleConnections: number;
  /**
   * Connections held open after a burst of `burstBytes` each, and as many
   * after 1 byte each, to compare.
   */
  burstConnections: number;
  /** The burst each connection echoes before it goes idle. */
  burstBytes: number;
  /** How long the idle client may take to open and echo them all. */
  idleOpenLimitMs: number;
  /** Bytes per ping-pong message. */
  messageSize: number;
  /** Bytes per write in the stream scenario. */
  streamChunk: number;
  /** Whether the health check may use wrk, which cannot run under 1 s. */
  allowWrk: boolean;
  /** Where results.json and RESULTS.md go, relative to the project root. */
  outputDir: string;
}

/** Concurrent connections of the busy ping-pong and of the health check. */
export const BUSY_CONNECTIONS = 50;

/**
 * The descriptor limit wanted for the server and the client in the idle
 * scenario; without the right to raise the hard limit, they get the hard
 * limit instead.
 */
export const IDLE_FILE_LIMIT = 65_536;

const COMMON = {
  messageSize: 64,
  streamChunk: 64 * 1024,
  burstBytes: 64 * 1024,
};

/** About 7 minutes on 2 cores: 3 rounds of 5 s per load scenario. */
export const FULL: Settings = {
  ...COMMON,
  mode: "full",
  rounds: 3,
  starts: 5,
  warmupMs: 1_000,
  durationMs: 4_000,
  idleConnections: 10_000,
  burstConnections: 3_000,
  idleOpenLimitMs: 60_000,
  allowWrk: true,
  outputDir: "bench",
};

/** A few seconds: every scenario once, briefly, results kept out of git. */
export const TINY: Settings = {
  ...COMMON,
  mode: "tiny",
  rounds: 1,
  starts: 1,
  warmupMs: 50,
  durationMs: 150,
  idleConnections: 100,
  burstConnections: 50,
  idleOpenLimitMs: 5_000,
  allowWrk: false,
  outputDir: "bench/.build",
};
