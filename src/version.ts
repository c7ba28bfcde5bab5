import denoConfig from "../deno.json" with { type: "json" };

/** The service's version, from `deno.json`. */
export const VERSION: string = denoConfig.version;
