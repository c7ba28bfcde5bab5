/** Errors that mean the connection broke, rather than that anything failed. */
const BROKEN_CONNECTION = [
  Deno.errors.ConnectionReset,
  Deno.errors.ConnectionAborted,
  Deno.errors.BrokenPipe,
  Deno.errors.NotConnected,
];

/**
 * Whether a stream error means the connection broke (a reset, a broken pipe)
 * rather than that anything failed: the `reset` end, not `error`.
 *
 * @example
 * ```ts
 * import { isBroken } from "./broken_connection.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(isBroken(new Deno.errors.ConnectionReset("reset")), true);
 * assert.equal(isBroken(new Deno.errors.InvalidData("bad frame")), false);
 * ```
 */
export function isBroken(error: unknown): boolean {
  return BROKEN_CONNECTION.some((kind) => error instanceof kind);
}
