import { type Config, parseCommandLine } from "../src/settings/config.ts";

/**
 * The service's config, as `parseCommandLine` makes it, for a service on loopback
 * on ports the system picks, logging at debug level: with `overrides`.
 */
export function loopbackConfig(overrides: Partial<Config> = {}): Config {
  const parsed = parseCommandLine([
    ...["--echo-host", "127.0.0.1", "--echo-port", "0", "--http-port", "0"],
    ...["--log-level", "debug"],
  ], {});
  if (parsed.kind !== "run") throw new Error(`bad test config: ${parsed.kind}`);
  return { ...parsed.settings, ...overrides };
}
