// The deployment files in deploy/ checked against the code, so that a flag,
// port, version or timeout changed on one side cannot leave the other behind.
import assert from "node:assert/strict";
import { parseAllDocuments } from "yaml";
import {
  parseCommandLine,
  SETTING_VARIABLES,
  type SettingFile,
  type Settings,
  VARIABLES_READ,
} from "../src/settings/config.ts";
import { LOOPBACK_ANY_PORT, ServiceProcess } from "./_service_process.ts";
import { SystemdUnit } from "./_systemd_unit.ts";
import { makeTempDir, writeTextFile } from "./_temp_files.ts";
import { test, TEST_TIME_LIMIT_MS } from "./_time_limit.ts";
import { CERTIFICATE } from "./_certificates.ts";

/** What the echo stop drains for at most, after the shutdown delay. */
const DRAIN_SECONDS = 1;
/** Stands in for a token that comes from a Secret. */
const DUMMY_TOKEN = "dummy-token";

const read = (path: string) =>
  Deno.readTextFile(new URL(`../${path}`, import.meta.url));

interface Probe {
  httpGet: { path: string; port: string | number; scheme?: string };
  periodSeconds: number;
  failureThreshold: number;
}
interface Container {
  image: string;
  args: string[];
  env: {
    name: string;
    value?: string;
    valueFrom?: {
      secretKeyRef?: { name: string; key: string };
      fieldRef?: { fieldPath: string };
    };
  }[];
  ports: { name: string; containerPort: number; protocol: string }[];
  livenessProbe: Probe;
  readinessProbe: Probe;
  volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[];
  securityContext: {
    allowPrivilegeEscalation: boolean;
    readOnlyRootFilesystem: boolean;
    capabilities: { drop: string[] };
  };
}
interface Deployment {
  kind: "Deployment";
  spec: {
    replicas: number;
    selector: { matchLabels: Record<string, string> };
    template: {
      metadata: {
        labels: Record<string, string>;
        annotations: Record<string, string>;
      };
      spec: {
        terminationGracePeriodSeconds: number;
        topologySpreadConstraints: {
          topologyKey: string;
          maxSkew: number;
          labelSelector: { matchLabels: Record<string, string> };
        }[];
        securityContext: {
          runAsNonRoot: boolean;
          runAsUser?: number;
          runAsGroup?: number;
          fsGroup?: number;
        };
        containers: Container[];
        volumes: {
          name: string;
          secret?: { secretName: string; defaultMode?: number };
        }[];
      };
    };
  };
}
interface Service {
  kind: "Service";
  metadata: { labels: Record<string, string> };
  spec: {
    selector: Record<string, string>;
    ports: {
      name: string;
      appProtocol?: string;
      port: number;
      targetPort: string | number;
    }[];
  };
}

interface NetworkPolicy {
  kind: "NetworkPolicy";
  spec: {
    podSelector: { matchLabels: Record<string, string> };
    policyTypes: string[];
    ingress: {
      from?: Record<string, unknown>[];
      ports: { port: string | number; protocol: string }[];
    }[];
  };
}

interface PodDisruptionBudget {
  kind: "PodDisruptionBudget";
  spec: {
    minAvailable?: number;
    selector: { matchLabels: Record<string, string> };
  };
}

interface ServiceMonitor {
  kind: "ServiceMonitor";
  spec: {
    selector: { matchLabels: Record<string, string> };
    endpoints: {
      port: string;
      scheme?: string;
      path?: string;
      tlsConfig?: { ca?: { secret?: { name: string; key: string } } };
    }[];
  };
}

const kubernetesYaml = await read("deploy/kubernetes.yaml");
const manifests = parseAllDocuments(kubernetesYaml);
for (const manifest of manifests) assert.deepEqual(manifest.errors, []);
const [deployment, service, networkPolicy, disruptionBudget] = [
  "Deployment",
  "Service",
  "NetworkPolicy",
  "PodDisruptionBudget",
].map((kind) => {
  const found = manifests.map((manifest) => manifest.toJS())
    .filter((object) => object?.kind === kind);
  assert.equal(found.length, 1, `kubernetes.yaml has one ${kind}`);
  return found[0];
}) as [Deployment, Service, NetworkPolicy, PodDisruptionBudget];
const serviceMonitor = parseAllDocuments(
  await read("deploy/prometheus/servicemonitor.yaml"),
).map((manifest) => manifest.toJS())[0] as ServiceMonitor;
const pod = deployment.spec.template;
const [container] = pod.spec.containers;

const unit = new SystemdUnit(await read("deploy/echoserver.service"));
const execStart = unit.get("Service", "ExecStart") ?? "";
const [unitBinary, ...unitArgs] = execStart.split(/\s+/);
const unitEnv: Record<string, string> = Object.fromEntries(
  unit.all("Service", "Environment").flatMap((line) =>
    line.split(/\s+/).map((pair) => pair.split(/=(.*)/s).slice(0, 2))
  ),
);

const denoJson = JSON.parse(await read("deno.json"));
const compileTask = compileCommand(denoJson.tasks.compile);
const dockerfile = (await read("deploy/Dockerfile")).replaceAll(/\\\n/g, " ");

/** The `ECHOSERVER__` variables the service reads. */
const KNOWN_VARIABLES = new Set(SETTING_VARIABLES);

/** The settings the service runs with; fails on any other outcome. */
function runConfig(args: readonly string[], env: Record<string, string>) {
  for (const name of Object.keys(env)) {
    if (!name.startsWith("ECHOSERVER__")) continue;
    assert.ok(KNOWN_VARIABLES.has(name), `echoserver never reads ${name}`);
  }
  const parsed = parseCommandLine(args, env);
  if (parsed.kind !== "run") {
    const why = parsed.kind === "error" ? parsed.error.message : parsed.kind;
    assert.fail(`"${args.join(" ")}" gives ${why}, not a run`);
  }
  return parsed.settings;
}

/**
 * The container's environment, with a dummy token for each Secret and a
 * dummy name for each downward API field.
 */
function containerEnv(): Record<string, string> {
  return Object.fromEntries(container.env.map(({ name, value, valueFrom }) => {
    if (valueFrom?.secretKeyRef) return [name, DUMMY_TOKEN];
    if (valueFrom?.fieldRef) return [name, `dummy-${name.toLowerCase()}`];
    assert.equal(typeof value, "string", `${name} has a value`);
    return [name, value!];
  }));
}

const podConfig = (): Settings => runConfig(container.args, containerEnv());
const unitConfig = (): Settings => runConfig(unitArgs, unitEnv);

/** The permissions and output file of a `deno compile` command line. */
function compileCommand(line: string) {
  const words = line.trim().split(/\s+/);
  assert.deepEqual(words.slice(0, 2), ["deno", "compile"], line);
  const output = words[words.indexOf("--output") + 1];
  assert.ok(words.includes("--output") && output, `${line} names its output`);
  return {
    permissions: words.filter((word) => word.startsWith("--allow-")).sort(),
    output,
  };
}

function containerPort(name: string | number): number {
  const port = container.ports.find((port) => port.name === name);
  assert.ok(port, `the container has a port named ${name}`);
  return port.containerPort;
}

const basename = (path: string) => path.split("/").at(-1)!;
const dirname = (path: string) => path.slice(0, path.lastIndexOf("/"));

/** Every file the pod's settings name. */
function podFiles(): SettingFile[] {
  const { dieTokenFile, tlsFiles } = podConfig();
  return [dieTokenFile, tlsFiles?.cert, tlsFiles?.key]
    .filter((file) => file !== undefined);
}

/** The name of the Secret mounted read-only where `file` is. */
function mountedSecret(file: SettingFile): string {
  const mount = container.volumeMounts.find(({ mountPath }) =>
    mountPath === dirname(file.path)
  );
  assert.ok(mount, `${file.setting} ${file.path} is in a mounted volume`);
  assert.equal(mount.readOnly, true, `${mount.mountPath} is read-only`);
  const volume = pod.spec.volumes.find(({ name }) => name === mount.name);
  assert.ok(volume?.secret, `${file.path} comes from a Secret`);
  // Secret files belong to root, and to the fsGroup when one is set; the
  // default mode is 0644.
  const mode = volume.secret.defaultMode ?? 0o644;
  const { runAsGroup, fsGroup } = pod.spec.securityContext;
  const groupReads = fsGroup !== undefined && fsGroup === runAsGroup &&
    (mode & 0o040) !== 0;
  assert.ok(groupReads, `the pod's user reads ${file.path}`);
  assert.equal(mode & 0o007, 0, `only the pod reads ${file.path}`);
  return volume.secret.secretName;
}

Deno.test("kubernetes.yaml container args and env give a run config with the token and TLS from files", () => {
  const config = podConfig();
  assert.ok(config.dieTokenFile, "the die token comes from a file");
  assert.ok(config.tlsFiles, "both ports speak TLS");
  assert.equal(config.dieToken, undefined, "no token in the environment");
  assert.equal(config.echo.hostname, "0.0.0.0");
  assert.equal(config.http.hostname, "0.0.0.0");
  assert.equal(config.logFormat, "json");
});

Deno.test("kubernetes.yaml mounts each file a setting names, read-only and for the pod's user alone, from the Secret its header comment creates", () => {
  const files = podFiles();
  assert.equal(files.length, 3);
  for (const file of files) {
    const secret = mountedSecret(file);
    const key = basename(file.path);
    // A TLS Secret holds tls.crt and tls.key; a generic one the keys given.
    const created = ["tls.crt", "tls.key"].includes(key)
      ? `kubectl create secret tls ${secret} `
      : `kubectl create secret generic ${secret} \\\n#     --from-literal=${key}=`;
    assert.ok(kubernetesYaml.includes(created), `${created} in the header`);
  }
});

Deno.test("echoserver.service ExecStart flags and Environment give a run config", () => {
  assert.ok(
    Object.keys(unitEnv).some((name) => name.startsWith("ECHOSERVER__")),
  );
  assert.ok(unitArgs.length > 0, "ExecStart passes flags");
  // Without a token, POST /die must stay on loopback.
  const config = unitConfig();
  assert.equal(config.dieToken, undefined);
  assert.equal(config.http.hostname, "127.0.0.1");
});

/**
 * The names of the echo and HTTP ports, which are also the Service ports'
 * appProtocol: what each speaks, as meshes such as Istio read them.
 */
function portNames(config: Settings): { echo: string; http: string } {
  return config.tlsFiles
    ? { echo: "tls", http: "https" }
    : { echo: "tcp", http: "http" };
}

Deno.test("kubernetes.yaml names the ports, and gives the Service's their appProtocol, after what they speak", () => {
  const names = portNames(podConfig());
  assert.deepEqual(
    container.ports.map(({ name }) => name).toSorted(),
    [names.echo, names.http].toSorted(),
  );
  for (const { name, appProtocol, targetPort } of service.spec.ports) {
    assert.equal(appProtocol, name);
    assert.equal(targetPort, name);
  }
});

Deno.test("kubernetes.yaml container and Service ports are the config's echo and HTTP ports", () => {
  const config = podConfig();
  const names = portNames(config);
  const expected = {
    [names.echo]: config.echo.port,
    [names.http]: config.http.port,
  };
  assert.deepEqual(
    Object.fromEntries(
      container.ports.map((port) => [port.name, port.containerPort]),
    ),
    expected,
  );
  assert.ok(container.ports.every(({ protocol }) => protocol === "TCP"));
  assert.deepEqual(
    Object.fromEntries(
      service.spec.ports.map((port) => [port.name, port.port]),
    ),
    expected,
  );
  for (const port of service.spec.ports) {
    assert.equal(typeof port.targetPort, "string", "targetPort names a port");
    assert.equal(containerPort(port.targetPort), expected[port.name]);
  }
});

Deno.test("kubernetes.yaml Service and Deployment select the pod template's labels", () => {
  const labels = pod.metadata.labels;
  assert.ok(Object.keys(service.spec.selector).length > 0);
  for (
    const selector of [
      service.spec.selector,
      deployment.spec.selector.matchLabels,
    ]
  ) {
    for (const [name, value] of Object.entries(selector)) {
      assert.equal(labels[name], value, `pod label ${name}`);
    }
  }
});

Deno.test("kubernetes.yaml probes and metrics scrape use the HTTP container port, over HTTPS with TLS", () => {
  const config = podConfig();
  const { http, tlsFiles } = config;
  const scheme = tlsFiles ? "HTTPS" : "HTTP";
  for (const probe of [container.livenessProbe, container.readinessProbe]) {
    assert.equal(probe.httpGet.port, portNames(config).http);
    assert.equal(containerPort(probe.httpGet.port), http.port);
    assert.equal(probe.httpGet.scheme ?? "HTTP", scheme);
  }
  assert.equal(
    Number(pod.metadata.annotations["prometheus.io/port"]),
    http.port,
  );
  assert.equal(
    pod.metadata.annotations["prometheus.io/scheme"] ?? "http",
    scheme.toLowerCase(),
  );
});

Deno.test("kubernetes.yaml NetworkPolicy admits echo from anywhere and HTTP only from chosen peers", () => {
  const { spec } = networkPolicy;
  for (const [name, value] of Object.entries(spec.podSelector.matchLabels)) {
    assert.equal(pod.metadata.labels[name], value, `pod label ${name}`);
  }
  assert.deepEqual(spec.policyTypes, ["Ingress"]);
  const rulesFor = (port: string) =>
    spec.ingress.filter((rule) =>
      rule.ports.some((p) => p.port === port && p.protocol === "TCP")
    );
  for (const rule of spec.ingress) {
    for (const { port } of rule.ports) containerPort(port);
  }
  const names = portNames(podConfig());
  assert.ok(rulesFor(names.echo).some((rule) => rule.from === undefined));
  const http = rulesFor(names.http);
  assert.ok(http.length > 0, "some peer may reach the HTTP port");
  for (const rule of http) {
    assert.ok(rule.from && rule.from.length > 0, "HTTP only from peers named");
  }
  assert.ok(
    spec.ingress.every((rule) => rule.ports.length > 0),
    "no rule admits every port",
  );
});

/** Asserts that `selector` picks the pod template's labels, and some. */
function assertSelectsPods(selector: Record<string, string>, what: string) {
  assert.ok(Object.keys(selector).length > 0, `${what} selects by label`);
  for (const [name, value] of Object.entries(selector)) {
    assert.equal(pod.metadata.labels[name], value, `${what}: label ${name}`);
  }
}

Deno.test("kubernetes.yaml PodDisruptionBudget keeps a replica serving through a node drain, and lets one go", () => {
  assert.equal(disruptionBudget.spec.minAvailable, 1);
  assert.ok(deployment.spec.replicas > 1, "a drain can evict one replica");
  assertSelectsPods(
    disruptionBudget.spec.selector.matchLabels,
    "PodDisruptionBudget",
  );
});

Deno.test("kubernetes.yaml spreads the replicas over nodes and zones", () => {
  const constraints = pod.spec.topologySpreadConstraints;
  assert.deepEqual(
    constraints.map(({ topologyKey }) => topologyKey),
    ["kubernetes.io/hostname", "topology.kubernetes.io/zone"],
  );
  for (const { maxSkew, labelSelector, topologyKey } of constraints) {
    assert.equal(maxSkew, 1);
    assertSelectsPods(labelSelector.matchLabels, topologyKey);
  }
});

Deno.test("servicemonitor.yaml scrapes the Service's HTTP port for /metrics over the pod's scheme, trusting the pod's certificate", () => {
  const config = podConfig();
  for (
    const [name, value] of Object.entries(
      serviceMonitor.spec.selector.matchLabels,
    )
  ) {
    assert.equal(service.metadata.labels[name], value, `Service label ${name}`);
  }
  const [endpoint] = serviceMonitor.spec.endpoints;
  assert.equal(endpoint.port, portNames(config).http);
  assert.ok(service.spec.ports.some(({ name }) => name === endpoint.port));
  assert.equal(endpoint.path, pod.metadata.annotations["prometheus.io/path"]);
  assert.equal(endpoint.scheme, config.tlsFiles ? "https" : "http");
  // The CA it trusts is the certificate the pod serves with.
  const cert = config.tlsFiles!.cert;
  assert.deepEqual(endpoint.tlsConfig?.ca?.secret, {
    name: mountedSecret(cert),
    key: basename(cert.path),
  });
});

test(
  "the service run with the manifest's args and the compile task's permissions answers 200 on the probe and metrics paths",
  async () => {
    // The manifest's flags, but on loopback and on free ports.
    const placed = ["--echo-host", "--echo-port", "--http-host", "--http-port"];
    const args = container.args.filter((arg, i) =>
      !placed.includes(arg) && !placed.includes(container.args[i - 1])
    );
    // Only what the service reads: DENO_DIR would move `deno run`'s cache.
    const env = Object.fromEntries(
      Object.entries(containerEnv()).filter(([name]) =>
        VARIABLES_READ.includes(name)
      ),
    );
    // The Secrets' files, made here, where the pod mounts them.
    const local = new Map(podFiles().map((file) => [file.path, file.path]));
    const dir = await makeTempDir();
    for (const file of podFiles()) {
      const key = basename(file.path);
      if (key === "tls.crt") local.set(file.path, CERTIFICATE.certFile);
      else if (key === "tls.key") local.set(file.path, CERTIFICATE.keyFile);
      else {
        local.set(file.path, `${dir}/${key}`);
        await writeTextFile(`${dir}/${key}`, `${DUMMY_TOKEN}\n`);
      }
    }
    await using running = new ServiceProcess(
      [
        ...args.map((arg) => local.get(arg) ?? arg),
        ...LOOPBACK_ANY_PORT,
        "--http-host",
        "127.0.0.1",
      ],
      { env, permissions: compileTask.permissions },
    );
    const { http } = await running.ports();
    const client = Deno.createHttpClient({ caCerts: [CERTIFICATE.cert] });
    const url = `https://localhost:${http}`;
    const paths = [
      container.livenessProbe.httpGet.path,
      container.readinessProbe.httpGet.path,
      pod.metadata.annotations["prometheus.io/path"],
    ];
    for (const path of paths) {
      const response = await fetch(`${url}${path}`, { client });
      await response.body?.cancel();
      assert.equal(response.status, 200, path);
      // --served-by "{pod}", from the downward API's metadata.name.
      assert.equal(response.headers.get("x-served-by"), "dummy-pod_name");
    }
    const die = await fetch(`${url}/die`, {
      method: "POST",
      headers: { authorization: `Bearer ${DUMMY_TOKEN}` },
      client,
    });
    assert.equal(await die.text(), "bye bye");
    assert.equal((await running.status).code, 0);
    client.close();
  },
  10_000,
);

Deno.test("kubernetes.yaml sets each placeholder's variable from the downward API field it names", () => {
  const fields = Object.fromEntries(
    container.env.filter(({ valueFrom }) => valueFrom?.fieldRef).map((
      { name, valueFrom },
    ) => [name, valueFrom!.fieldRef!.fieldPath]),
  );
  assert.deepEqual(fields, {
    POD_NAME: "metadata.name",
    POD_NAMESPACE: "metadata.namespace",
    NODE_NAME: "spec.nodeName",
  });
  assert.equal(podConfig().servedBy, "dummy-pod_name");
});

Deno.test("echoserver.service gives the service the machine's name as HOSTNAME, for {hostname}", () => {
  assert.equal(unitEnv.HOSTNAME, "%H");
});

Deno.test("kubernetes.yaml grace period outlasts the shutdown delay and the drain", () => {
  const delaySeconds = podConfig().shutdownDelayMs / 1000;
  assert.ok(delaySeconds > 0, "the pod waits for load balancers to let go");
  assert.ok(
    pod.spec.terminationGracePeriodSeconds > delaySeconds + DRAIN_SECONDS,
    `${pod.spec.terminationGracePeriodSeconds} s > ${delaySeconds} s + ${DRAIN_SECONDS} s`,
  );
});

Deno.test("kubernetes.yaml readiness probe fails several times within the shutdown delay", () => {
  const { periodSeconds, failureThreshold } = container.readinessProbe;
  assert.ok(
    podConfig().shutdownDelayMs / 1000 >=
      periodSeconds * (failureThreshold + 1),
    `${periodSeconds} s × (${failureThreshold} + 1) fits in the delay`,
  );
});

Deno.test("echoserver.service TimeoutStopSec outlasts the shutdown delay and the drain", () => {
  const timeout = unit.seconds("Service", "TimeoutStopSec");
  assert.ok(timeout !== undefined, "TimeoutStopSec is set");
  assert.ok(timeout > unitConfig().shutdownDelayMs / 1000 + DRAIN_SECONDS);
  assert.equal(unit.get("Service", "KillSignal"), "SIGTERM");
});

Deno.test("echoserver.service LimitNOFILE holds both limits: a descriptor per plain echo client, three per TLS one and per HTTP connection, and 64 more", () => {
  const soft = Number(unit.get("Service", "LimitNOFILE")?.split(":")[0]);
  const config = unitConfig();
  const perEchoClient = config.tlsFiles === undefined ? 1 : 3;
  const needed = config.maxConnections * perEchoClient +
    3 * config.httpMaxConnections + 64;
  assert.ok(soft >= needed, `${soft} descriptors for ${needed}`);
});

Deno.test("kubernetes.yaml image tag is deno.json's version", () => {
  assert.equal(container.image.split(":").at(-1), denoJson.version);
});

Deno.test("Dockerfile builds with CI's Deno version", async () => {
  const ci = (await read(".ci/run")).match(/^DENO_VERSION=(\S+)$/m)?.[1];
  const image = dockerfile.match(/^FROM denoland\/deno:(\S+)/m)?.[1];
  assert.ok(ci, ".ci/run sets DENO_VERSION");
  assert.equal(image, ci);
});

Deno.test("Dockerfile compiles with the compile task's permissions and runs its output", () => {
  // Either the task itself or a `deno compile` of its own.
  const run = dockerfile.match(/^RUN (deno (?:task compile|compile .*))$/m)
    ?.[1];
  assert.ok(run, "the Dockerfile runs deno compile");
  const build = run === "deno task compile" ? compileTask : compileCommand(run);
  assert.deepEqual(build.permissions, compileTask.permissions);
  const workdir = dockerfile.match(/^WORKDIR (\S+)$/m)?.[1] ?? "/";
  const copied = dockerfile.match(/^COPY --from=\S+ (\S+) (\S+)$/m);
  assert.ok(copied, "the final stage copies the binary");
  assert.equal(copied[1], `${workdir}/${build.output}`.replace("//", "/"));
  const entrypoint = JSON.parse(dockerfile.match(/^ENTRYPOINT (.+)$/m)![1]);
  assert.deepEqual(entrypoint, [copied[2]]);
  assert.equal(basename(copied[2]), basename(compileTask.output));
});

Deno.test("deno.json's start and compile tasks grant env access to exactly the variables the service reads", () => {
  for (const task of ["start", "compile"]) {
    const words: string[] = denoJson.tasks[task].split(/\s+/);
    const envFlags = words.filter((word) => word.startsWith("--allow-env"));
    assert.equal(envFlags.length, 1, `${task}: one --allow-env`);
    const granted = envFlags[0].split("=")[1]?.split(",") ?? [];
    assert.deepEqual(
      granted.toSorted(),
      VARIABLES_READ.toSorted(),
      `${task}: --allow-env=${VARIABLES_READ.join(",")}`,
    );
  }
});

Deno.test("echoserver.service runs the compile task's binary", () => {
  assert.equal(unitBinary, "/usr/local/bin/echoserver");
  assert.equal(basename(unitBinary), basename(compileTask.output));
});

Deno.test("echoserver.service runs as a dynamic user without new privileges and restarts on failure but not on exit 2", () => {
  assert.equal(unit.get("Service", "DynamicUser"), "yes");
  assert.equal(unit.get("Service", "NoNewPrivileges"), "yes");
  assert.equal(unit.get("Service", "Restart"), "on-failure");
  assert.ok(
    unit.get("Service", "RestartPreventExitStatus")?.split(/\s+/).includes("2"),
  );
  assert.equal(unit.get("Service", "CapabilityBoundingSet"), "");
  // V8's JIT writes code and then runs it.
  assert.equal(unit.get("Service", "MemoryDenyWriteExecute"), undefined);
});

/** systemd-analyze, where it is installed; CI installs it (Debian's systemd). */
const SYSTEMD_ANALYZE = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"]
  .find((path) => {
    try {
      return Deno.statSync(path).isFile;
    } catch {
      return false;
    }
  });
const requireSystemdAnalyze =
  Deno.env.get("CI_REQUIRE_SYSTEMD_ANALYZE") === "1";
if (SYSTEMD_ANALYZE === undefined && !requireSystemdAnalyze) {
  console.log(
    "systemd-analyze security skipped: systemd-analyze is not installed (apt-get install systemd)",
  );
}

/** The most exposure the unit may have, on systemd-analyze's 0-10 scale. */
const MAX_EXPOSURE = 1.5;

Deno.test({
  name:
    `echoserver.service scores at most ${MAX_EXPOSURE} in systemd-analyze security --offline=yes`,
  ignore: SYSTEMD_ANALYZE === undefined && !requireSystemdAnalyze,
}, async () => {
  assert.ok(SYSTEMD_ANALYZE, "systemd-analyze is not installed");
  const { stdout } = await new Deno.Command(SYSTEMD_ANALYZE, {
    args: [
      "security",
      "--offline=yes",
      new URL("../deploy/echoserver.service", import.meta.url).pathname,
    ],
    env: { SYSTEMD_COLORS: "0" },
    signal: AbortSignal.timeout(TEST_TIME_LIMIT_MS),
  }).output();
  const report = new TextDecoder().decode(stdout);
  const score = report.match(/Overall exposure level for \S+: ([\d.]+)/)?.[1];
  assert.ok(score, report);
  assert.ok(Number(score) <= MAX_EXPOSURE, `${score} > ${MAX_EXPOSURE}`);
});

Deno.test("echoserver.service lets the runtime make a service's system calls and memory protection keys, and no privileged or resource-changing ones", () => {
  assert.deepEqual(unit.all("Service", "SystemCallFilter"), [
    "@system-service @pkey",
    "~@privileged @resources",
  ]);
  // A call left out then fails, where it would otherwise kill the service.
  assert.equal(unit.get("Service", "SystemCallErrorNumber"), "EPERM");
  assert.equal(unit.get("Service", "SystemCallArchitectures"), "native");
});

Deno.test("kubernetes.yaml container runs as non-root on a read-only root with no capabilities", () => {
  assert.equal(pod.spec.securityContext.runAsNonRoot, true);
  assert.deepEqual(container.securityContext, {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ["ALL"] },
  });
});

Deno.test("the deploy files hold the numbers deploy/README.md states: 2 replicas, --shutdown-delay 10, readiness every 2 s, a 20 s grace period, 1 replica kept through a drain, TimeoutStopSec 10 s, MemoryMax 256M, LimitNOFILE 16384, a 3 s HEALTHCHECK timeout, user 65532", () => {
  assert.equal(deployment.spec.replicas, 2);
  assert.equal(pod.spec.securityContext.runAsUser, 65532);
  assert.equal(podConfig().shutdownDelayMs, 10_000);
  assert.equal(container.readinessProbe.periodSeconds, 2);
  assert.equal(pod.spec.terminationGracePeriodSeconds, 20);
  assert.equal(disruptionBudget.spec.minAvailable, 1);
  assert.equal(unit.seconds("Service", "TimeoutStopSec"), 10);
  assert.equal(unit.get("Service", "MemoryMax"), "256M");
  assert.equal(unit.get("Service", "LimitNOFILE"), "16384");
  assert.match(dockerfile, /^HEALTHCHECK .*--timeout=3s /m);
});
