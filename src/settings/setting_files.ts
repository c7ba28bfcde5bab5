import type { KeyObject, X509Certificate } from "node:crypto";
import {
  BEARER_TOKEN_EXPECTED,
  bearerToken,
  type Config,
  ConfigError,
  type SettingFile,
  type Settings,
} from "./config.ts";
import { errorMessage } from "../net/error_message.ts";
import { FileRefusedError, readBoundedFile } from "./read_bounded_file.ts";

/**
 * Reads the text of a file of at most `maxBytes` bytes;
 * {@linkcode readBoundedFile} is one.
 */
export type ReadTextFile = (path: string, maxBytes: number) => Promise<string>;

/** The most a token file may hold: a token is far shorter. */
const MAX_TOKEN_FILE_BYTES = 64 * 1024;
/** The most a certificate chain or key file may hold. */
const MAX_PEM_FILE_BYTES = 1024 * 1024;

/**
 * Reads the files that settings name, once, at startup: the die token from
 * `--die-token-file` and the TLS pair from `--tls-cert` and `--tls-key`. The
 * settings come back as the config, with `dieToken` and `tls` filled in. Every fault is a
 * {@linkcode ConfigError} whose one line names the setting and the file, and
 * is found before anything listens: a file that cannot be read, one that is
 * not a regular file (a device such as `/dev/zero`, a FIFO, a directory) or
 * holds more than 64 KiB for the token or 1 MiB for a certificate chain or
 * key, an empty token file, a token that is not a bearer token, a
 * certificate or key that is not PEM, and a key that does not belong to the
 * certificate. None of these waits on the file or reads it without end.
 *
 * @example
 * ```ts
 * import { readSettingFiles } from "./setting_files.ts";
 * import { parseCommandLine } from "./config.ts";
 * import assert from "node:assert/strict";
 *
 * const parsed = parseCommandLine(["--die-token-file", "/run/secrets/die-token"], {});
 * if (parsed.kind !== "run") throw parsed;
 * const secret = () => Promise.resolve("t0ken\n"); // as a mounted secret file
 * const config = await readSettingFiles(parsed.settings, secret);
 * assert.equal(config.dieToken, "t0ken");
 * ```
 */
export async function readSettingFiles(
  settings: Settings,
  readTextFile: ReadTextFile = readBoundedFile,
): Promise<Config> {
  const read = async (file: SettingFile, maxBytes: number) => {
    try {
      return await readTextFile(file.path, maxBytes);
    } catch (error) {
      throw fault(
        file,
        error instanceof FileRefusedError
          ? error.message
          : `cannot be read: ${errorMessage(error)}`,
      );
    }
  };
  const { dieTokenFile, tlsFiles, ...rest } = settings;
  const config: Config = rest;
  if (dieTokenFile !== undefined) {
    config.dieToken = parseTokenFile(
      dieTokenFile,
      await read(dieTokenFile, MAX_TOKEN_FILE_BYTES),
    );
  }
  if (tlsFiles !== undefined) {
    const { cert, key } = tlsFiles;
    config.tls = await checkKeyPair(tlsFiles, {
      cert: await read(cert, MAX_PEM_FILE_BYTES),
      key: await read(key, MAX_PEM_FILE_BYTES),
    });
  }
  return config;
}

/** The token in a token file: its content less trailing line breaks. */
function parseTokenFile(file: SettingFile, content: string): string {
  const token = content.replace(/[\r\n]+$/, "");
  if (token === "") throw fault(file, "is empty");
  // The token stays out of the message: it may be nearly right.
  if (bearerToken(token) === undefined) {
    throw fault(file, `does not hold ${BEARER_TOKEN_EXPECTED}`);
  }
  return token;
}

/**
 * The pair, once the key is known to be the certificate's. `node:crypto` is
 * loaded only here: a first `node:` module costs a service without TLS
 * about a third of its start.
 */
async function checkKeyPair(
  files: { cert: SettingFile; key: SettingFile },
  pair: Deno.TlsCertifiedKeyPem,
): Promise<Deno.TlsCertifiedKeyPem> {
  const { createPrivateKey, X509Certificate } = await import("node:crypto");
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(pair.cert);
  } catch {
    throw fault(files.cert, "is not a PEM certificate");
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(pair.key);
  } catch {
    throw fault(files.key, "is not an unencrypted PEM private key");
  }
  if (!certificate.checkPrivateKey(key)) {
    throw fault(
      files.key,
      `is not the key of the certificate in ${files.cert.setting} ${
        JSON.stringify(files.cert.path)
      }`,
    );
  }
  return pair;
}

function fault(file: SettingFile, problem: string): ConfigError {
  return new ConfigError(
    `${file.setting}: ${JSON.stringify(file.path)} ${problem}`,
  );
}
