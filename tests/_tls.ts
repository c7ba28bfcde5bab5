import { makeTempDir, run } from "./_temp_files.ts";

/** A throwaway self-signed certificate and its key, as files and as text. */
export interface TestCertificate extends Deno.TlsCertifiedKeyPem {
  certFile: string;
  keyFile: string;
}

/**
 * Makes a self-signed P-256 certificate for `localhost` and 127.0.0.1 with
 * `openssl`, valid for a day, in a new temporary directory removed at exit.
 * Made per run, so no key is ever committed and none expires in the
 * repository. The benchmark uses it too.
 */
export async function makeTestCertificate(): Promise<TestCertificate> {
  const dir = await makeTempDir();
  const [certFile, keyFile] = [`${dir}/cert.pem`, `${dir}/key.pem`];
  await run("openssl", [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-days",
    "1",
    "-subj",
    "/CN=localhost",
    "-addext",
    "subjectAltName=DNS:localhost,IP:127.0.0.1",
    // Trusted as itself, not as a CA that signs others: rustls insists.
    "-addext",
    "basicConstraints=critical,CA:FALSE",
    "-keyout",
    keyFile,
    "-out",
    certFile,
  ]);
  return {
    certFile,
    keyFile,
    cert: await Deno.readTextFile(certFile),
    key: await Deno.readTextFile(keyFile),
  };
}
