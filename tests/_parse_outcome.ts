import { parseCommandLine } from "../src/settings/config.ts";

/**
 * What `parseCommandLine` makes of `args` and `env`, in one string to assert on:
 * the error's message for a bad setting, otherwise the kind (`run`).
 *
 * @example
 * ```ts
 * import { parseOutcome } from "./_parse_outcome.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(parseOutcome(["--echo-port", "0"]), "run");
 * assert.equal(parseOutcome(["--echo-port", "x"]), '--echo-port: "x" is not an integer from 0 to 65535 with no leading zero');
 * ```
 */
export function parseOutcome(
  args: string[],
  env: Record<string, string> = {},
): string {
  const parsed = parseCommandLine(args, env);
  return parsed.kind === "error" ? parsed.error.message : parsed.kind;
}
