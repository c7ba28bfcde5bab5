// deploy/Dockerfile and .dockerignore checked against the code and against
// deno.json, and the image's `docker run` line run as the image would run
// it: no Docker engine is needed, the Dockerfile is read as text.
import assert from "node:assert/strict";
import { parseCommandLine, type Settings } from "../src/settings/config.ts";
import { HEALTH_CHECK_TIMEOUT_MS } from "../src/process/health_check.ts";
import { assertRefusesToStart, ServiceProcess } from "./_service_process.ts";
import { test } from "./_time_limit.ts";

/** What the echo stop drains for at most, after the shutdown delay. */
const DRAIN_SECONDS = 1;
/** How long `docker stop` waits before SIGKILL, unless told otherwise. */
const DOCKER_STOP_TIMEOUT_SECONDS = 10;
/** Stands in for the token a `docker run` line makes with openssl. */
const DUMMY_TOKEN = "dummy-token";

const read = (path: string) =>
  Deno.readTextFile(new URL(`../${path}`, import.meta.url));

const denoJson = JSON.parse(await read("deno.json"));
const dockerfileText = await read("deploy/Dockerfile");
const dockerfile = dockerfileText.replaceAll(/\\\n/g, " ");

/** The arguments of each `instruction` in the Dockerfile, in order. */
function instructions(instruction: string): string[] {
  return dockerfile.matchAll(new RegExp(`^${instruction} +(.+)$`, "gm"))
    .map(([, args]) => args.trim()).toArray();
}

/** The final stage's instructions: what the image itself is. */
const finalStage = dockerfile.slice(dockerfile.lastIndexOf("\nFROM "));

/** `KEY=value` or `KEY="value"` pairs, as LABEL and ENV take them. */
function pairs(args: string[]): Record<string, string> {
  return Object.fromEntries(
    args.flatMap((line) =>
      line.matchAll(/([\w.-]+)=("[^"]*"|\S+)/g)
        .map(([, key, value]) => [key, value.replace(/^"(.*)"$/, "$1")])
        .toArray()
    ),
  );
}

const labels = pairs(instructions("LABEL"));
const imageEnv = pairs(instructions("ENV"));
const entrypoint: string[] = JSON.parse(instructions("ENTRYPOINT")[0]);

/** The image's settings: its environment, with no arguments. */
function imageConfig(): Settings {
  const parsed = parseCommandLine([], imageEnv);
  if (parsed.kind !== "run") assert.fail(JSON.stringify(parsed));
  return parsed.settings;
}

/** The `-e NAME=VALUE` settings of a `docker run` line, and its image. */
function dockerRun(line: string) {
  const words = line.trim().split(/\s+/);
  const env: Record<string, string> = {};
  for (const [i, word] of words.entries()) {
    if (word !== "-e") continue;
    const [name, value] = words[i + 1].split(/=(.*)/s);
    const unquoted = value.replace(/^"(.*)"$/, "$1");
    env[name] = unquoted.startsWith("$") ? DUMMY_TOKEN : unquoted;
  }
  return { env, image: words.at(-1)! };
}

/** The `docker run` line of a file, without a comment's `#`. */
function dockerRunLine(text: string, file: string): string {
  const lines = text.split("\n").map((line) => line.replace(/^#\s*/, ""))
    .filter((line) => line.startsWith("docker run "));
  assert.equal(lines.length, 1, `${file} has one docker run line`);
  return lines[0];
}

Deno.test("Dockerfile labels the image with deno.json's version and licence, and where its source is", () => {
  assert.equal(labels["org.opencontainers.image.version"], denoJson.version);
  assert.equal(labels["org.opencontainers.image.licenses"], denoJson.license);
  assert.equal(
    labels["org.opencontainers.image.source"],
    `https://jsr.io/${denoJson.name}`,
  );
  assert.equal(labels["org.opencontainers.image.title"], "echoserver");
  assert.ok(finalStage.includes("\nLABEL "), "the labels are the image's");
});

Deno.test("Dockerfile puts the licence in the image beside the binary", () => {
  assert.match(finalStage, /^COPY LICENSE \S+$/m);
});

Deno.test("Dockerfile HEALTHCHECK runs the binary's --check-health, given more time than the check's own bound", () => {
  const [healthcheck] = instructions("HEALTHCHECK");
  const [, options, command] = healthcheck.match(/^(.*?)\s*CMD (.+)$/)!;
  assert.deepEqual(JSON.parse(command), [...entrypoint, "--check-health"]);
  const timeout = options.match(/--timeout=(\d+)s\b/)?.[1];
  assert.ok(timeout, "HEALTHCHECK sets --timeout in seconds");
  assert.ok(
    Number(timeout) > HEALTH_CHECK_TIMEOUT_MS / 1000,
    `${timeout} s > ${HEALTH_CHECK_TIMEOUT_MS} ms`,
  );
});

Deno.test("Dockerfile listens for HTTP on every address, so the image needs a die token", () => {
  assert.equal(imageConfig().http.hostname, "0.0.0.0");
});

Deno.test("Docker's stop timeout outlasts the image's shutdown delay and the drain, and docker stop sends SIGTERM", () => {
  const delaySeconds = imageConfig().shutdownDelayMs / 1000;
  assert.ok(
    DOCKER_STOP_TIMEOUT_SECONDS > delaySeconds + DRAIN_SECONDS,
    `${DOCKER_STOP_TIMEOUT_SECONDS} s > ${delaySeconds} s + ${DRAIN_SECONDS} s`,
  );
  assert.deepEqual(instructions("STOPSIGNAL"), ["SIGTERM"]);
});

test(".dockerignore lets into the build context exactly what the Dockerfile copies from it", async () => {
  const rules = (await read(".dockerignore")).split("\n")
    .filter((line) => line.trim() !== "" && !line.startsWith("#"));
  assert.equal(rules[0], "*", "everything else stays out");
  const admitted = rules.slice(1).map((rule) => {
    assert.ok(rule.startsWith("!"), rule);
    return rule.slice(1);
  });
  const copied = instructions("COPY")
    .filter((args) => !args.startsWith("--from="))
    .flatMap((args) => args.split(/\s+/).slice(0, -1));
  assert.deepEqual(admitted.toSorted(), copied.toSorted());
});

test(
  "the docker run line of the Dockerfile, README.md and deploy/README.md starts the service as the image runs it, and its HEALTHCHECK passes",
  async () => {
    const line = dockerRunLine(dockerfileText, "deploy/Dockerfile");
    for (const file of ["README.md", "deploy/README.md"]) {
      assert.equal(dockerRunLine(await read(file), file), line);
    }
    const { env, image } = dockerRun(line);
    assert.equal(image, `echoserver:${denoJson.version}`);
    // The image's settings and the line's, on free ports.
    const permissions = denoJson.tasks.compile.split(/\s+/)
      .filter((word: string) => word.startsWith("--allow-"));
    const free = { ECHOSERVER__ECHO_PORT: "0", ECHOSERVER__HTTP_PORT: "0" };
    const running = { ...imageEnv, ...env, ...free };
    await using service = new ServiceProcess([], {
      env: running,
      permissions,
    });
    const { http } = await service.ports();
    const [, ...check] = JSON.parse(
      instructions("HEALTHCHECK")[0].match(/CMD (.+)$/)![1],
    );
    await using healthcheck = new ServiceProcess(check, {
      env: { ...running, ECHOSERVER__HTTP_PORT: `${http}` },
      permissions,
    });
    assert.equal((await healthcheck.status).code, 0);

    // Without the line's token the image would not start.
    await using unguarded = new ServiceProcess([], {
      env: { ...imageEnv, ...free },
      permissions,
    });
    await assertRefusesToStart(unguarded, 2, "--http-host 0.0.0.0 is off");
  },
);
