import assert from "node:assert/strict";
import denoConfig from "../deno.json" with { type: "json" };
import { makeTempDir, run, writeTextFile } from "./_temp_files.ts";
import {
  assertRefusesToStart,
  LOOPBACK_ANY_PORT,
  ServiceProcess,
} from "./_service_process.ts";
import { test } from "./_time_limit.ts";
import { CERTIFICATE, OTHER_CERTIFICATE } from "./_certificates.ts";

const dir = await makeTempDir();
const tokenFile = `${dir}/die-token`;
await writeTextFile(tokenFile, "s3cret-t0ken\n");

/** The permissions `deno task start` grants, read from deno.json. */
const START_PERMISSIONS = denoConfig.tasks.start.split(" ")
  .filter((word) => word.startsWith("--allow-"));

const TLS_FLAGS = [
  "--tls-cert",
  CERTIFICATE.certFile,
  "--tls-key",
  CERTIFICATE.keyFile,
];

/** curl against the service, trusting the test certificate; its stdout. */
async function curl(...args: string[]): Promise<string> {
  const output = await run("curl", [
    "--silent",
    "--show-error",
    "--fail",
    "--max-time",
    "5",
    "--cacert",
    CERTIFICATE.certFile,
    ...args,
  ]);
  return new TextDecoder().decode(output);
}

/** Sends `data` through `openssl s_client` and collects as many bytes back. */
async function echoThroughOpenssl(
  port: number,
  data: Uint8Array,
): Promise<Uint8Array> {
  const child = new Deno.Command("openssl", {
    args: [
      "s_client",
      "-connect",
      `127.0.0.1:${port}`,
      "-CAfile",
      CERTIFICATE.certFile,
      "-verify_return_error",
      "-quiet",
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  try {
    const writing = (async () => {
      const writer = child.stdin.getWriter();
      await writer.write(data);
      await writer.releaseLock();
    })();
    const received = new Uint8Array(data.length);
    let offset = 0;
    for await (const chunk of child.stdout) {
      received.set(chunk.subarray(0, data.length - offset), offset);
      offset += chunk.length;
      if (offset >= data.length) break;
    }
    await writing;
    assert.equal(offset, data.length, "bytes echoed");
    return received;
  } finally {
    child.kill("SIGKILL");
    await child.status;
    await child.stdin.close().catch(() => {});
  }
}

test(
  "main.ts with --tls-cert and --tls-key serves echo over TLS and HTTP over HTTPS to openssl and curl, with deno task start's permissions",
  async () => {
    await using service = new ServiceProcess(
      [...LOOPBACK_ANY_PORT, ...TLS_FLAGS],
      {
        env: { ECHOSERVER__DIE_TOKEN_FILE: tokenFile },
        permissions: START_PERMISSIONS,
      },
    );
    const ports = await service.ports();
    assert.deepEqual(service.stdout.lines, [
      `echo listening on tls://127.0.0.1:${ports.echo}`,
      `http listening on https://127.0.0.1:${ports.http}/`,
    ]);
    const data = crypto.getRandomValues(new Uint8Array(65_536));
    const sent = new Uint8Array(1 << 20).map((_, i) => data[i % 65_536] ^ i);
    assert.deepEqual(await echoThroughOpenssl(ports.echo, sent), sent);

    const url = `https://127.0.0.1:${ports.http}`;
    assert.equal(await curl(`${url}/healthcheck`), "ok computer");
    await assert.rejects(curl("-X", "POST", `${url}/die`), /401/);
    assert.equal(
      await curl(
        "-X",
        "POST",
        "-H",
        "Authorization: Bearer s3cret-t0ken",
        `${url}/die`,
      ),
      "bye bye",
    );
    assert.equal((await service.status).code, 0);
  },
  20_000,
);

test(
  "main.ts exits 2 with one line naming the setting and the file for bad TLS or token files, before listening",
  async () => {
    const emptyFile = `${dir}/empty`;
    await writeTextFile(emptyFile, "");
    const cases: [string[], string][] = [
      [
        ["--tls-cert", `${dir}/missing.pem`, "--tls-key", CERTIFICATE.keyFile],
        `--tls-cert: "${dir}/missing.pem" cannot be read: No such file`,
      ],
      [
        [
          "--tls-cert",
          CERTIFICATE.certFile,
          "--tls-key",
          OTHER_CERTIFICATE.keyFile,
        ],
        `--tls-key: "${OTHER_CERTIFICATE.keyFile}" is not the key of the certificate`,
      ],
      [
        ["--tls-key", CERTIFICATE.keyFile],
        `--tls-key: "${CERTIFICATE.keyFile}" needs --tls-cert`,
      ],
      [
        ["--die-token-file", emptyFile],
        `--die-token-file: "${emptyFile}" is empty`,
      ],
      [
        ["--die-token-file", tokenFile, "--die-token", "t0ken"],
        `--die-token-file: "${tokenFile}" and --die-token are both given`,
      ],
    ];
    for (const [flags, message] of cases) {
      await using service = new ServiceProcess(
        [...LOOPBACK_ANY_PORT, ...flags],
        { permissions: START_PERMISSIONS },
      );
      await assertRefusesToStart(service, 2, message);
    }
  },
  30_000,
);

test(
  "main.ts without read permission for the certificate exits 2 naming the setting, the file and the permission",
  async () => {
    await using service = new ServiceProcess(
      [...LOOPBACK_ANY_PORT, ...TLS_FLAGS],
      {
        permissions: [
          "--allow-net",
          "--allow-env",
          `--allow-read=${CERTIFICATE.keyFile}`,
        ],
      },
    );
    assert.equal((await service.status).code, 2);
    assert.deepEqual(service.stdout.lines, []);
    assert.match(
      service.stderr.lines.join("\n"),
      new RegExp(
        `^echoserver: --tls-cert: "${CERTIFICATE.certFile}" cannot be read: .*--allow-read`,
      ),
    );
  },
  10_000,
);
