import assert from "node:assert/strict";
import { type Config, parseCommandLine } from "../src/settings/config.ts";
import { readSettingFiles } from "../src/settings/setting_files.ts";
import { makeTempDir, run, writeTextFile } from "./_temp_files.ts";
import { CERTIFICATE, OTHER_CERTIFICATE } from "./_certificates.ts";
import { test } from "./_time_limit.ts";

const dir = await makeTempDir();

function configOf(args: string[], env: Record<string, string> = {}): Config {
  const parsed = parseCommandLine(args, env);
  if (parsed.kind !== "run") throw new Error(JSON.stringify(parsed));
  return parsed.settings;
}

async function fileWith(name: string, content: string): Promise<string> {
  const path = `${dir}/${name}`;
  await writeTextFile(path, content);
  return path;
}

async function faultOf(args: string[], env: Record<string, string> = {}) {
  const error = await readSettingFiles(configOf(args, env)).then(
    () => assert.fail("no error"),
    (error) => error,
  );
  assert.equal(error.name, "ConfigError");
  return error.message;
}

Deno.test("readSettingFiles() reads the die token from its file, less its trailing newline", async () => {
  for (const content of ["s3cret", "s3cret\n", "s3cret\r\n"]) {
    const path = await fileWith("token", content);
    const config = await readSettingFiles(
      configOf([], { ECHOSERVER__DIE_TOKEN_FILE: path }),
    );
    assert.equal(config.dieToken, "s3cret", JSON.stringify(content));
  }
});

Deno.test("readSettingFiles() refuses an empty token file or one that holds no bearer token, without echoing it", async () => {
  const empty = await fileWith("empty", "\n");
  assert.equal(
    await faultOf(["--die-token-file", empty]),
    `--die-token-file: "${empty}" is empty`,
  );
  const spaced = await fileWith("spaced", "two words\n");
  const message = await faultOf([], { ECHOSERVER__DIE_TOKEN_FILE: spaced });
  assert.equal(
    message,
    `ECHOSERVER__DIE_TOKEN_FILE: "${spaced}" does not hold a bearer token ` +
      "(letters, digits and -._~+/, then any '=')",
  );
});

Deno.test("readSettingFiles() names the setting and the file it cannot read", async () => {
  const missing = `${dir}/missing.pem`;
  assert.match(
    await faultOf(["--tls-cert", missing, "--tls-key", CERTIFICATE.keyFile]),
    new RegExp(
      `^--tls-cert: "${missing}" cannot be read: No such file or directory`,
    ),
  );
});

test("readSettingFiles() refuses a device, a FIFO nobody writes to and a directory at once, naming the setting and the file", async () => {
  const fifo = `${dir}/fifo`;
  await run("mkfifo", [fifo]);
  for (
    const [args, env, message] of [
      [
        ["--die-token-file", "/dev/zero"],
        {},
        '--die-token-file: "/dev/zero" is not a regular file but a character device',
      ],
      [
        ["--tls-cert", "/dev/urandom", "--tls-key", CERTIFICATE.keyFile],
        {},
        '--tls-cert: "/dev/urandom" is not a regular file but a character device',
      ],
      [
        [],
        {
          ECHOSERVER__TLS__CERT_FILE: CERTIFICATE.certFile,
          ECHOSERVER__TLS__KEY_FILE: fifo,
        },
        `ECHOSERVER__TLS__KEY_FILE: "${fifo}" is not a regular file but a FIFO`,
      ],
      [
        ["--tls-cert", dir, "--tls-key", CERTIFICATE.keyFile],
        {},
        `--tls-cert: "${dir}" is not a regular file but a directory`,
      ],
    ] as const
  ) {
    assert.equal(await faultOf([...args], env), message);
  }
});

/** `content` after a line of `#`, so that the file is `size` bytes in all. */
function padded(content: string, size: number): string {
  return "#".repeat(size - content.length - 1) + "\n" + content;
}

Deno.test("readSettingFiles() takes a token file of 65536 bytes and refuses one of 65537", async () => {
  const atBound = await fileWith("token-64k", "t".repeat(65_536));
  const config = await readSettingFiles(
    configOf(["--die-token-file", atBound]),
  );
  assert.equal(config.dieToken, "t".repeat(65_536));
  const over = await fileWith("token-64k-1", "t".repeat(65_537));
  assert.equal(
    await faultOf(["--die-token-file", over]),
    `--die-token-file: "${over}" is larger than 65536 bytes`,
  );
});

Deno.test("readSettingFiles() takes a certificate and a key of 1048576 bytes each and refuses either at 1048577", async () => {
  const cert = padded(CERTIFICATE.cert, 1_048_576);
  const key = padded(CERTIFICATE.key, 1_048_576);
  const [certFile, keyFile] = [
    await fileWith("cert-1m.pem", cert),
    await fileWith("key-1m.pem", key),
  ];
  const config = await readSettingFiles(
    configOf(["--tls-cert", certFile, "--tls-key", keyFile]),
  );
  assert.deepEqual(config.tls, { cert, key });
  const certOver = await fileWith("cert-1m-1.pem", "#" + cert);
  assert.equal(
    await faultOf(["--tls-cert", certOver, "--tls-key", keyFile]),
    `--tls-cert: "${certOver}" is larger than 1048576 bytes`,
  );
  const keyOver = await fileWith("key-1m-1.pem", "#" + key);
  assert.equal(
    await faultOf(["--tls-cert", certFile, "--tls-key", keyOver]),
    `--tls-key: "${keyOver}" is larger than 1048576 bytes`,
  );
});

Deno.test("readSettingFiles() reads a matching certificate and key into config.tls", async () => {
  const config = await readSettingFiles(
    configOf([
      "--tls-cert",
      CERTIFICATE.certFile,
      "--tls-key",
      CERTIFICATE.keyFile,
    ]),
  );
  assert.deepEqual(config.tls, {
    cert: CERTIFICATE.cert,
    key: CERTIFICATE.key,
  });
});

Deno.test("readSettingFiles() refuses a key that is not the certificate's", async () => {
  assert.equal(
    await faultOf([
      "--tls-cert",
      CERTIFICATE.certFile,
      "--tls-key",
      OTHER_CERTIFICATE.keyFile,
    ]),
    `--tls-key: "${OTHER_CERTIFICATE.keyFile}" is not the key of the ` +
      `certificate in --tls-cert "${CERTIFICATE.certFile}"`,
  );
});

Deno.test("readSettingFiles() refuses files that are not PEM, naming which", async () => {
  const text = await fileWith("text.pem", "not a certificate\n");
  assert.equal(
    await faultOf(["--tls-cert", text, "--tls-key", CERTIFICATE.keyFile]),
    `--tls-cert: "${text}" is not a PEM certificate`,
  );
  // A certificate where the key belongs is not a key.
  assert.equal(
    await faultOf([
      "--tls-cert",
      CERTIFICATE.certFile,
      "--tls-key",
      CERTIFICATE.certFile,
    ]),
    `--tls-key: "${CERTIFICATE.certFile}" is not an unencrypted PEM private key`,
  );
});

Deno.test("readSettingFiles() reads nothing when no setting names a file", async () => {
  const config = configOf(["--die-token", "t0ken"]);
  const read = () => assert.fail("read a file");
  assert.deepEqual(await readSettingFiles(config, read), config);
});
