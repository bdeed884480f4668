import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { apiRequest, serverUrl, type ClientOptions } from './api-client.js';

/**
 * `inferd export -o DIR`: the server's InferenceServices and namespaced ServingRuntimes as
 * manifests a cluster with KServe accepts (one file each plus a kustomization.yaml).
 * Server-owned fields go, and nothing secret is written: credentials become references by
 * name (a Secret key, a ServiceAccount) and every such change is reported as a warning.
 */

interface ExportOptions extends ClientOptions {
  output: string;
  namespace?: string;
  pvc: string;
  secretName: string;
  storageServiceAccount?: string;
}

type Obj = Record<string, any>;

/** Env names that hold credentials (inferd's S3 settings, tokens, passwords). */
const SECRET_NAME = /SECRET|PASSWORD|PASSWD|TOKEN|CREDENTIAL|API_?KEY|ACCESS_KEY|PRIVATE_KEY/i;
/** Query parameters of presigned or token-bearing URLs. */
const SECRET_QUERY = /signature|token|credential|sig$|^key$|password/i;
/** KServe component fields holding a model spec (container + storageUri). */
const MODEL_FIELDS = ['model', 'sklearn', 'xgboost', 'lightgbm', 'onnx', 'tensorflow', 'pytorch', 'triton', 'huggingface', 'pmml', 'paddle'];

interface Context {
  opts: ExportOptions;
  warn: (msg: string) => void;
  /** `<namespace>/<name>` of the resource being exported, for messages and PVC paths. */
  id: string;
  name: string;
}

/** Literal credential values in env become secretKeyRefs to one Secret, by name only. */
function scrubEnv(env: unknown, where: string, cx: Context): unknown {
  if (!Array.isArray(env)) return env;
  return env.map((e: Obj) => {
    if (typeof e?.name !== 'string' || e.value === undefined || !SECRET_NAME.test(e.name)) return e;
    cx.warn(`${cx.id}: ${where} env ${e.name} had a literal value; it now reads key ${e.name} of Secret ${cx.opts.secretName} (create it in the cluster)`);
    return { name: e.name, valueFrom: { secretKeyRef: { name: cx.opts.secretName, key: e.name } } };
  });
}

/** A storageUri a cluster can use: local paths go to a PVC, URL credentials are removed. */
function clusterUri(uri: string, where: string, cx: Context): string {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(uri)?.[1]?.toLowerCase();
  if (scheme === undefined || scheme === 'file') {
    const local = scheme === 'file' ? uri.slice('file://'.length) : uri;
    const mapped = `pvc://${cx.opts.pvc}/${cx.name}/${basename(local.replace(/\/+$/, '')) || 'model'}`;
    cx.warn(`${cx.id}: ${where} storageUri ${uri} is a local path; mapped to ${mapped}: copy the model into PersistentVolumeClaim "${cx.opts.pvc}" at ${cx.name}/ (or pass --pvc NAME)`);
    return mapped;
  }
  if (scheme === 'http' || scheme === 'https') {
    let url: URL;
    try {
      url = new URL(uri);
    } catch {
      return uri;
    }
    if (url.username || url.password) {
      url.username = '';
      url.password = '';
      cx.warn(`${cx.id}: ${where} storageUri had credentials in the URL; they were removed (use a KServe storage Secret)`);
    }
    if ([...url.searchParams.keys()].some((k) => SECRET_QUERY.test(k))) {
      url.search = '';
      cx.warn(`${cx.id}: ${where} storageUri had a signed or token query; it was removed (presigned URLs expire; use a KServe storage Secret)`);
    }
    return url.toString();
  }
  return uri;
}

function scrubModel(spec: Obj, where: string, cx: Context): { s3: boolean } {
  let s3 = false;
  if (typeof spec.storageUri === 'string') {
    spec.storageUri = clusterUri(spec.storageUri, where, cx);
    s3 = spec.storageUri.startsWith('s3://');
  }
  if (spec.env !== undefined) spec.env = scrubEnv(spec.env, where, cx);
  const params = spec.storage?.parameters as Obj | undefined;
  for (const key of Object.keys(params ?? {})) {
    if (!SECRET_NAME.test(key)) continue;
    delete params![key];
    cx.warn(`${cx.id}: ${where}.storage.parameters.${key} removed (credentials belong in KServe's storage-config Secret, named by storage.key)`);
  }
  return { s3 };
}

function scrubContainers(containers: unknown, where: string, cx: Context): void {
  if (!Array.isArray(containers)) return;
  containers.forEach((c: Obj, i) => {
    if (c?.env !== undefined) c.env = scrubEnv(c.env, `${where}.containers[${i}]`, cx);
  });
}

function scrubComponent(component: Obj | undefined, where: string, cx: Context): void {
  if (!component) return;
  let s3 = false;
  for (const field of MODEL_FIELDS) {
    if (component[field]) s3 = scrubModel(component[field] as Obj, `${where}.${field}`, cx).s3 || s3;
  }
  scrubContainers(component.containers, where, cx);
  if (!s3 || component.serviceAccountName) return;
  // KServe reads S3 credentials from the Secrets attached to the predictor's ServiceAccount.
  if (cx.opts.storageServiceAccount) component.serviceAccountName = cx.opts.storageServiceAccount;
  else cx.warn(`${cx.id}: ${where} reads from S3: give it credentials in the cluster with serviceAccountName (a ServiceAccount holding KServe's S3 Secret) or re-run with --storage-service-account NAME`);
}

/** The manifest a cluster gets: apiVersion, kind, user metadata and spec; no status. */
export function clusterManifest(resource: Obj, opts: ExportOptions, warn: (msg: string) => void): Obj {
  const meta = (resource.metadata ?? {}) as Obj;
  const namespace = (meta.namespace as string | undefined) ?? 'default';
  const annotations = { ...(meta.annotations as Obj | undefined) };
  // kubectl's copy of a previous apply may hold values this export removes.
  delete annotations['kubectl.kubernetes.io/last-applied-configuration'];
  // inferd's own record of who applied a command runtime (runtime-policy.ts); set by the server on apply.
  delete annotations['inferd.dev/trusted-by'];
  const metadata: Obj = { name: meta.name, namespace };
  if (meta.labels && Object.keys(meta.labels as Obj).length) metadata.labels = meta.labels;
  if (Object.keys(annotations).length) metadata.annotations = annotations;
  const spec = structuredClone(resource.spec ?? {}) as Obj;
  const cx: Context = { opts, warn, id: `${String(resource.kind).toLowerCase()}/${namespace}/${String(meta.name)}`, name: String(meta.name) };
  if (resource.kind === 'InferenceService') {
    if (spec.canary !== undefined) {
      delete spec.canary;
      warn(`${cx.id}: spec.canary[] is inferd's own and was left out (KServe splits traffic with predictor.canaryTrafficPercent)`);
    }
    scrubComponent(spec.predictor as Obj | undefined, 'predictor', cx);
    scrubComponent(spec.transformer as Obj | undefined, 'transformer', cx);
    scrubComponent(spec.explainer as Obj | undefined, 'explainer', cx);
  } else {
    scrubContainers(spec.containers, 'spec', cx);
    if (annotations['inferd.dev/module']) warn(`${cx.id}: annotation inferd.dev/module names a local JS/TS module, which KServe does not run; give the runtime a container image instead`);
  }
  return { apiVersion: resource.apiVersion, kind: resource.kind, metadata, spec };
}

export function registerExport(program: Command): void {
  program
    .command('export')
    .description("write the server's InferenceServices and ServingRuntimes as cluster-ready manifests (one file each + kustomization.yaml)")
    .requiredOption('-o, --output <dir>', 'directory to write into')
    .option('-n, --namespace <ns>', 'only this namespace (default: all)')
    .option('--pvc <claim>', 'PersistentVolumeClaim that local model paths are mapped to (pvc://CLAIM/NAME/...)', 'inferd-models')
    .option('--secret-name <name>', 'Secret that literal credential env values are turned into references to', 'inferd-model-credentials')
    .option('--storage-service-account <name>', 'serviceAccountName for predictors that read from S3 without one (KServe takes S3 credentials from it)')
    .option('--server <url>', 'inferd server URL (or INFERD_SERVER)')
    .action(async (opts: ExportOptions) => {
      const ns = opts.namespace ? `/namespaces/${encodeURIComponent(opts.namespace)}` : '';
      const isvcs = ((await apiRequest(opts, 'GET', `/apis/serving.kserve.io/v1beta1${ns}/inferenceservices`)) as { items: Obj[] }).items;
      const runtimes = ((await apiRequest(opts, 'GET', `/apis/serving.kserve.io/v1alpha1${ns}/servingruntimes`)) as { items: Obj[] }).items;
      const warnings: string[] = [];
      await mkdir(opts.output, { recursive: true });
      const files: string[] = [];
      for (const resource of [...runtimes, ...isvcs]) {
        const manifest = clusterManifest(resource, opts, (m) => warnings.push(m));
        const file = `${String(manifest.kind).toLowerCase()}-${manifest.metadata.namespace}-${manifest.metadata.name}.yaml`;
        await writeFile(join(opts.output, file), stringify(manifest));
        files.push(file);
      }
      const kustomization = { apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: files };
      await writeFile(join(opts.output, 'kustomization.yaml'), `# exported from ${serverUrl(opts)} by inferd export; apply with: kubectl apply -k ${opts.output}\n${stringify(kustomization)}`);
      for (const w of warnings) console.error(`warning: ${w}`);
      console.log(`wrote ${files.length} resource${files.length === 1 ? '' : 's'} and kustomization.yaml to ${opts.output}`);
    });
}
