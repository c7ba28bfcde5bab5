/**
 * Returns the one-line message of anything thrown, for logs and exit messages.
 *
 * @example
 * ```ts
 * import { errorMessage } from "./error_message.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(errorMessage(new Error("connection reset")), "connection reset");
 * assert.equal(errorMessage("plain string"), "plain string");
 * ```
 */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
