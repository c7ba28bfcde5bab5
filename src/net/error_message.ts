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

/** errno numbers of the failures worth telling apart, as Linux numbers them. */
const ERRNO_NAMES: Readonly<Record<string, string>> = {
  "12": "ENOMEM",
  "23": "ENFILE",
  "24": "EMFILE",
  "105": "ENOBUFS",
};

/**
 * Returns a short code for anything thrown, for metric labels and decisions:
 * the error's `code` (such as `ENOTCONN`), else the errno name its message
 * carries as "(os error N)" (`Deno.serve` reports a failed accept so), else
 * its name.
 *
 * @example
 * ```ts
 * import { errorCode } from "./error_message.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(errorCode(new Deno.errors.Http("Error: Too many open files (os error 24)")), "EMFILE");
 * assert.equal(errorCode(Object.assign(new Error("not connected"), { code: "ENOTCONN" })), "ENOTCONN");
 * assert.equal(errorCode(new Deno.errors.Http("closed")), "Http");
 * assert.equal(errorCode("plain string"), "unknown");
 * ```
 */
export function errorCode(error: unknown): string {
  if (!(error instanceof Error)) return "unknown";
  const { code } = error as { code?: unknown };
  if (typeof code === "string") return code;
  const errno = error.message.match(/\(os error (\d+)\)/)?.[1];
  return (errno && ERRNO_NAMES[errno]) ?? error.name;
}
