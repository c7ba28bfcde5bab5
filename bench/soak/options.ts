/**
 * The soak's command line.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { errorMessage } from "./stats.ts";

export const USAGE =
  "usage: deno run --allow-run --allow-net --allow-read --allow-env bench/soak.ts [--seconds N] [--seed N]";

const DEFAULT_SECONDS = 60;
const MAX_SECONDS = 3_600;

/** What the command line sets. */
export interface SoakOptions {
  /** How long the load runs. */
  seconds: number;
  /** The seed of the clients' random choices. */
  seed: number;
}

/** A bad command line. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** The options in `args`; throws a {@linkcode UsageError} for bad ones. */
export function parseOptions(args: string[]): SoakOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: { seconds: { type: "string" }, seed: { type: "string" } },
    }));
  } catch (error) {
    throw new UsageError(errorMessage(error));
  }
  const seconds = Number(values.seconds ?? DEFAULT_SECONDS);
  if (!(seconds > 0 && seconds <= MAX_SECONDS)) {
    throw new UsageError(`--seconds must be over 0 and at most ${MAX_SECONDS}`);
  }
  const seed = values.seed === undefined
    ? crypto.getRandomValues(new Uint32Array(1))[0]
    : Number(values.seed);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffff_ffff) {
    throw new UsageError("--seed must be an integer from 0 to 4294967295");
  }
  return { seconds, seed };
}
