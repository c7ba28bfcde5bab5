/**
 * The text that says which instance answered, from a template such as
 * `served by {pod} on {node}`: `--banner` sends it to each new echo client,
 * `--served-by` puts it in a header of every HTTP response. It is rendered
 * once, at startup, from environment variables:
 *
 * - `{hostname}` from `HOSTNAME`, which Docker and Kubernetes set to the
 *   container's or pod's name and a systemd unit can set with
 *   `Environment=HOSTNAME=%H`. `Deno.hostname()` would need `--allow-sys`,
 *   which the service does not take, for this alone.
 * - `{pod}`, `{namespace}` and `{node}` from `POD_NAME`, `POD_NAMESPACE` and
 *   `NODE_NAME`, which a Kubernetes manifest sets from the downward API
 *   (`fieldRef`).
 *
 * @module
 */

/** Each placeholder and the environment variable it is read from. */
const PLACEHOLDERS: Readonly<Record<string, string>> = {
  hostname: "HOSTNAME",
  pod: "POD_NAME",
  namespace: "POD_NAMESPACE",
  node: "NODE_NAME",
};

/**
 * The environment variables a template may read: `--allow-env` must grant
 * them, as it does the settings' own.
 */
export const BANNER_VARIABLES: readonly string[] = Object.values(PLACEHOLDERS);

/** The longest rendered text, in UTF-8 bytes: a line, not a document. */
export const MAX_BANNER_BYTES = 1024;

/** A template that cannot be rendered; the message completes "the template ...". */
export class BannerError extends Error {
  /** Its name in messages. */
  override name = "BannerError";
}

/** C0 and C1 control characters and DEL: nothing that could break a line. */
const CONTROL = /\p{Cc}/u;

/**
 * Renders `template`, putting each placeholder's variable from `env` in its
 * place. The text must come out as one line of at most
 * {@linkcode MAX_BANNER_BYTES} bytes.
 *
 * @throws {BannerError} for a placeholder it does not know, one whose
 * variable is unset or empty, or a text with a control character in it
 * (a line break from a variable, say) or over the bound
 *
 * @example
 * ```ts
 * import { renderBanner } from "./banner.ts";
 * import assert from "node:assert/strict";
 *
 * const env = { POD_NAME: "echoserver-7d4b9-x2x7q", NODE_NAME: "node-3" };
 * assert.equal(renderBanner("served by {pod} on {node}", env), "served by echoserver-7d4b9-x2x7q on node-3");
 * assert.throws(() => renderBanner("{pods}", env), /unknown placeholder \{pods\}/);
 * assert.throws(() => renderBanner("{hostname}", env), /HOSTNAME.*not set/);
 * ```
 */
export function renderBanner(
  template: string,
  env: Readonly<Record<string, string | undefined>>,
): string {
  const text = template.replaceAll(/\{([^{}]*)\}/g, (placeholder, name) => {
    if (!Object.hasOwn(PLACEHOLDERS, name)) {
      const known = Object.keys(PLACEHOLDERS).map((name) => `{${name}}`);
      throw new BannerError(
        `has an unknown placeholder ${placeholder}; known: ${known.join(", ")}`,
      );
    }
    const variable = PLACEHOLDERS[name];
    const value = env[variable];
    if (!value) {
      throw new BannerError(
        `needs ${variable} for ${placeholder}, and it is not set`,
      );
    }
    return value;
  });
  const control = CONTROL.exec(text)?.[0];
  if (control !== undefined) {
    const code = control.codePointAt(0)!.toString(16).toUpperCase();
    throw new BannerError(
      `renders with a control character (U+${code.padStart(4, "0")}) in it`,
    );
  }
  const bytes = new TextEncoder().encode(text).length;
  if (bytes > MAX_BANNER_BYTES) {
    throw new BannerError(
      `renders to ${bytes} bytes, over the ${MAX_BANNER_BYTES} allowed`,
    );
  }
  return text;
}
