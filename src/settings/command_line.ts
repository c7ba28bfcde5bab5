/**
 * Splits a command line into options and positionals, as `node:util`'s
 * `parseArgs` does with `strict: false` and `tokens: true`, for the forms this
 * service takes: `--name=value`, `--name value` for an option that takes a
 * value, `--name` for a switch, `-h`, and `--` to end the options. It is here
 * because importing any `node:` module starts Deno's Node compatibility
 * layer: `node:util` alone added about 25 ms to every start, a third of
 * `deno run` on an empty file.
 *
 * @module
 */

/** One piece of a command line. */
export type CommandLineToken =
  | {
    kind: "option";
    /** Its name without dashes: `echo-port`, `h`. */
    name: string;
    /** As written: `--echo-port`, `-h`. */
    rawName: string;
    /** Its value, when `=value` or the next argument gave one. */
    value?: string;
  }
  | { kind: "positional"; value: string };

/**
 * The tokens of `args`. A long option that `takesValue` names takes the next
 * argument as its value, whatever it looks like, unless it has `=value`; a
 * group of short options such as `-hv` is one token each; everything after
 * `--` is positional.
 *
 * @example
 * ```ts
 * import { commandLineTokens } from "./command_line.ts";
 * import assert from "node:assert/strict";
 *
 * const takesValue = (name: string) => name === "port";
 * assert.deepEqual(commandLineTokens(["--port", "-1", "--quiet", "--", "-h"], takesValue), [
 *   { kind: "option", name: "port", rawName: "--port", value: "-1" },
 *   { kind: "option", name: "quiet", rawName: "--quiet" },
 *   { kind: "positional", value: "-h" },
 * ]);
 * ```
 */
export function commandLineTokens(
  commandLine: readonly string[],
  takesValue: (name: string) => boolean,
): CommandLineToken[] {
  const args = [...commandLine];
  const tokens: CommandLineToken[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") {
      for (const value of args.slice(i + 1)) {
        tokens.push({ kind: "positional", value });
      }
      break;
    }
    if (arg.startsWith("--")) {
      // As parseArgs: a value follows the first "=" if any "=" comes after
      // the name's first character, so `--=x` is named "=x" and has none.
      const equals = arg.includes("=", 3) ? arg.indexOf("=") : -1;
      const name = arg.slice(2, equals === -1 ? undefined : equals);
      const token: CommandLineToken = {
        kind: "option",
        name,
        rawName: `--${name}`,
      };
      if (equals !== -1) token.value = arg.slice(equals + 1);
      else if (takesValue(name) && i + 1 < args.length) token.value = args[++i];
      tokens.push(token);
    } else if (arg.startsWith("-") && arg.length > 2) {
      // As parseArgs: a group such as `-hv` is read as `-h -v`, so that a "-"
      // in it, as in `-h-`, stands for `--` and ends the options.
      const expanded = arg.slice(1).split("").map((name) => `-${name}`);
      args.splice(i + 1, 0, ...expanded);
    } else if (arg.startsWith("-") && arg.length === 2) {
      tokens.push({ kind: "option", name: arg[1], rawName: arg });
    } else {
      tokens.push({ kind: "positional", value: arg });
    }
  }
  return tokens;
}
