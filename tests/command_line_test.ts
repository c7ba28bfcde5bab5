import assert from "node:assert/strict";
import { parseArgs } from "node:util";
import fc from "fast-check";
import {
  type CommandLineToken,
  commandLineTokens,
} from "../src/settings/command_line.ts";

const VALUED = ["port", "token"];
const SWITCHES = ["quiet"];
const takesValue = (name: string) => VALUED.includes(name);

/** What `node:util`'s parseArgs makes of `args`, in the same shape. */
function nodeTokens(args: string[]): CommandLineToken[] {
  const { tokens } = parseArgs({
    args,
    options: Object.fromEntries([
      ...VALUED.map((name) => [name, { type: "string" as const }]),
      ...SWITCHES.map((name) => [name, { type: "boolean" as const }]),
    ]),
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  return tokens.flatMap((token): CommandLineToken[] => {
    if (token.kind === "option-terminator") return [];
    if (token.kind === "positional") {
      return [{ kind: token.kind, value: token.value }];
    }
    const { name, rawName, value } = token;
    return [{
      kind: token.kind,
      name,
      rawName,
      ...(value === undefined ? {} : { value }),
    }];
  });
}

const piece = fc.oneof(
  fc.constantFrom(
    "--",
    "-",
    "-h",
    "-hv",
    "-1",
    "--=x",
    "---x",
    "--port=",
    "a--b",
  ),
  fc.constantFrom(...VALUED, ...SWITCHES, "other").chain((name) =>
    fc.constantFrom(`--${name}`, `--${name}=`).chain((option) =>
      fc.string({ maxLength: 4 }).map((value) =>
        option.endsWith("=") ? option + value : option
      )
    )
  ),
  fc.string({ maxLength: 6 }),
  fc.string({ maxLength: 6, unit: "binary" }),
  // Few characters, so that odd mixes of dashes and "=" come up often.
  fc.string({ maxLength: 5, unit: fc.constantFrom("-", "=", "h", "p", " ") }),
);

Deno.test("commandLineTokens() splits any command line as node:util's parseArgs does", () => {
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 8 }), (args) => {
      assert.deepEqual(commandLineTokens(args, takesValue), nodeTokens(args));
    }),
    { numRuns: 5_000 },
  );
});

Deno.test("commandLineTokens() takes the next argument as a value whatever it looks like", () => {
  assert.deepEqual(commandLineTokens(["--token", "--quiet"], takesValue), [
    { kind: "option", name: "token", rawName: "--token", value: "--quiet" },
  ]);
  assert.deepEqual(commandLineTokens(["--token"], takesValue), [
    { kind: "option", name: "token", rawName: "--token" },
  ]);
  assert.deepEqual(commandLineTokens(["--quiet", "x=y"], takesValue), [
    { kind: "option", name: "quiet", rawName: "--quiet" },
    { kind: "positional", value: "x=y" },
  ]);
});
