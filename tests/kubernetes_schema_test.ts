// Every Kubernetes manifest in deploy/ checked offline against the Kubernetes
// API's own schemas (kubernetes-models, generated from its OpenAPI spec) and
// the Prometheus Operator's CRD schemas, twice: by the JSON schema, for types,
// required fields and allowed values, as the API server validates; and by
// the models' TypeScript types, for unknown fields (a misspelt key that the
// API server would drop), as `kubectl apply --validate=strict` refuses them.
import assert from "node:assert/strict";
import { parseAllDocuments } from "yaml";
import { makeTempDir } from "./_temp_files.ts";
import { test, TEST_TIME_LIMIT_MS } from "./_time_limit.ts";

/** The module of each kind the manifests use, by `apiVersion/kind`. */
const MODULES: Record<string, string> = {
  "apps/v1/Deployment": "kubernetes-models/apps/v1/Deployment",
  "v1/Service": "kubernetes-models/v1/Service",
  "networking.k8s.io/v1/NetworkPolicy":
    "kubernetes-models/networking.k8s.io/v1/NetworkPolicy",
  "policy/v1/PodDisruptionBudget":
    "kubernetes-models/policy/v1/PodDisruptionBudget",
  "monitoring.coreos.com/v1/PrometheusRule":
    "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule",
  "monitoring.coreos.com/v1/ServiceMonitor":
    "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor",
};

const ROOT = new URL("..", import.meta.url);
const DEPLOY = new URL("deploy/", ROOT);

interface Manifest {
  /** Its file under deploy/ and its place there: `kubernetes.yaml#0`. */
  where: string;
  kind: string;
  /** `apiVersion/kind`, the key of {@linkcode MODULES}. */
  type: string;
  object: Record<string, unknown>;
}

/** Every YAML file under `dir`. */
async function yamlFiles(dir: URL): Promise<URL[]> {
  const files: URL[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const url = new URL(entry.name + (entry.isDirectory ? "/" : ""), dir);
    if (entry.isDirectory) files.push(...await yamlFiles(url));
    else if (/\.ya?ml$/.test(entry.name)) files.push(url);
  }
  return files.sort();
}

/** Every document in deploy/ that is a Kubernetes object. */
async function manifests(): Promise<Manifest[]> {
  const found: Manifest[] = [];
  for (const file of await yamlFiles(DEPLOY)) {
    const path = file.pathname.slice(DEPLOY.pathname.length);
    const documents = parseAllDocuments(await Deno.readTextFile(file));
    for (const [index, document] of documents.entries()) {
      const object = document.toJS();
      if (object?.apiVersion === undefined || object?.kind === undefined) {
        continue;
      }
      const type = `${object.apiVersion}/${object.kind}`;
      found.push({
        where: `${path}#${index}`,
        kind: object.kind,
        type,
        object,
      });
    }
  }
  return found;
}

const found = await manifests();

Deno.test("deploy/ ships one manifest of each kind checked here, so none goes unchecked", () => {
  assert.deepEqual(
    found.map(({ type }) => type).toSorted(),
    Object.keys(MODULES).toSorted(),
  );
});

Deno.test("every Kubernetes manifest in deploy/ is valid against its kind's schema", async () => {
  for (const { where, kind, type, object } of found) {
    const { [kind]: Model } = await import(MODULES[type]);
    assert.doesNotThrow(
      () => new Model(object).validate(),
      `deploy/${where} (${kind})`,
    );
  }
});

Deno.test("the schemas refuse a wrong type and a value not allowed", async () => {
  const { Deployment } = await import(MODULES["apps/v1/Deployment"]);
  const deployment = new Deployment({
    metadata: { name: "x" },
    spec: {
      selector: {},
      template: {
        spec: { containers: [{ name: "x", ports: [{ containerPort: "x" }] }] },
      },
    },
  });
  assert.throws(() => deployment.validate(), /containerPort must be integer/);
  const { ServiceMonitor } = await import(
    MODULES["monitoring.coreos.com/v1/ServiceMonitor"]
  );
  const monitor = new ServiceMonitor({
    metadata: { name: "x" },
    spec: { selector: {}, endpoints: [{ port: "https", scheme: "ftp" }] },
  });
  assert.throws(
    () => monitor.validate(),
    /scheme must be equal to one of the allowed values/,
  );
});

/**
 * The type errors `deno check` finds in `manifests` written as object
 * literals of their kinds' types: an unknown field is one.
 */
async function typeErrors(manifests: Manifest[]): Promise<string> {
  const lines = manifests.flatMap(({ kind, type, object }, i) => [
    `import type { I${kind} as T${i} } from "${MODULES[type]}";`,
    `export const m${i}: T${i} = ${JSON.stringify(object)};`,
  ]);
  const file = `${await makeTempDir()}/manifests.ts`;
  await Deno.writeTextFile(file, lines.join("\n"));
  const { success, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "check",
      "--quiet",
      "--config",
      new URL("deno.json", ROOT).pathname,
      file,
    ],
    env: { NO_COLOR: "1" },
    signal: AbortSignal.timeout(TEST_TIME_LIMIT_MS),
  }).output();
  const decoder = new TextDecoder();
  return success ? "" : decoder.decode(stdout) + decoder.decode(stderr);
}

test("every Kubernetes manifest in deploy/ has only fields its kind knows", async () => {
  assert.equal(await typeErrors(found), "");
});

test("a misspelt field fails the check, naming it", async () => {
  const deployment = found.find(({ kind }) => kind === "Deployment")!;
  const spec = deployment.object.spec as Record<string, unknown>;
  const misspelt = { ...spec, replica: spec.replicas };
  const errors = await typeErrors([
    { ...deployment, object: { ...deployment.object, spec: misspelt } },
  ]);
  assert.match(errors, /'"replica"' does not exist in type 'IDeploymentSpec'/);
});
