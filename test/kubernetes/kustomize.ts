import { existsSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { toIssues, type Issue } from './kserve-schema.js';
import { readYamlDocs, type K8sObject } from './yaml-docs.js';

/**
 * A kustomize-equivalent renderer for the subset our kustomizations use (`resources`,
 * `namespace`, `labels`/`commonLabels`, `images`), so `kubectl kustomize` output can be
 * checked without kubectl. Anything else in a kustomization is refused by the schema below,
 * so a kustomization can never use a feature this renderer would silently ignore.
 */

const labelPairs = { type: 'object', additionalProperties: { type: 'string' } };
const kustomizationSchema = {
  type: 'object',
  properties: {
    apiVersion: { const: 'kustomize.config.k8s.io/v1beta1' },
    kind: { const: 'Kustomization' },
    resources: { type: 'array', items: { type: 'string', minLength: 1 } },
    namespace: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$' },
    commonLabels: labelPairs,
    labels: {
      type: 'array',
      items: {
        type: 'object',
        properties: { pairs: labelPairs, includeSelectors: { type: 'boolean' }, includeTemplates: { type: 'boolean' } },
        required: ['pairs'],
        additionalProperties: false,
      },
    },
    images: {
      type: 'array',
      items: {
        type: 'object',
        properties: { name: { type: 'string' }, newName: { type: 'string' }, newTag: { type: 'string' }, digest: { type: 'string' } },
        required: ['name'],
        additionalProperties: false,
      },
    },
  },
  required: ['resources'],
  additionalProperties: false,
};
const checkKustomization = new Ajv2020({ allErrors: true }).compile(kustomizationSchema);

export function validateKustomization(obj: unknown): Issue[] {
  return checkKustomization(obj) ? [] : toIssues(checkKustomization.errors ?? []);
}

interface Kustomization {
  resources: string[];
  namespace?: string;
  commonLabels?: Record<string, string>;
  labels?: Array<{ pairs: Record<string, string>; includeSelectors?: boolean; includeTemplates?: boolean }>;
  images?: Array<{ name: string; newName?: string; newTag?: string; digest?: string }>;
}

/** Kinds that have no namespace (kustomize's `namespace:` leaves them alone). */
const CLUSTER_SCOPED = new Set([
  'Namespace', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'PersistentVolume', 'StorageClass',
  'PriorityClass', 'ClusterServingRuntime', 'ClusterStorageContainer', 'ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration',
]);

export interface Rendered {
  object: K8sObject;
  /** The file it came from, relative to the kustomization root. */
  source: string;
}

/** `kubectl kustomize DIR`, for the supported subset. */
export function renderKustomization(dir: string, root = dir): Rendered[] {
  const file = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'].map((f) => join(dir, f)).find((f) => existsSync(f));
  if (!file) throw new Error(`${dir}: no kustomization.yaml`);
  const [k] = readYamlDocs(file);
  const issues = validateKustomization(k);
  if (issues.length) throw new Error(`${file}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
  const kust = k as Kustomization;
  const out: Rendered[] = [];
  for (const res of kust.resources) {
    const path = resolve(dir, res);
    if (!existsSync(path)) throw new Error(`${file}: resource ${res} does not exist`);
    if (statSync(path).isDirectory()) out.push(...renderKustomization(path, root));
    else for (const doc of readYamlDocs(path)) out.push({ object: doc as K8sObject, source: relative(root, path) });
  }
  for (const { object } of out) transform(object, kust);
  return out;
}

function transform(obj: K8sObject, k: Kustomization): void {
  obj.metadata ??= {};
  if (k.namespace && !CLUSTER_SCOPED.has(obj.kind)) obj.metadata.namespace = k.namespace;
  const labelSets = [
    ...(k.labels ?? []),
    ...(k.commonLabels ? [{ pairs: k.commonLabels, includeSelectors: true, includeTemplates: true }] : []),
  ];
  for (const set of labelSets) {
    obj.metadata.labels = { ...obj.metadata.labels, ...set.pairs };
    if (set.includeSelectors || set.includeTemplates) {
      const template = obj.spec?.template;
      if (template) template.metadata = { ...template.metadata, labels: { ...template.metadata?.labels, ...set.pairs } };
    }
    if (set.includeSelectors) addToSelectors(obj, set.pairs);
  }
  for (const image of k.images ?? []) replaceImages(obj, image);
}

/** The selector fields kustomize's commonLabels (and labels with includeSelectors) extend. */
function addToSelectors(obj: K8sObject, pairs: Record<string, string>): void {
  const spec = obj.spec;
  if (!spec) return;
  if (obj.kind === 'Service') spec.selector = { ...spec.selector, ...pairs };
  else if (['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'PodDisruptionBudget', 'Job'].includes(obj.kind)) {
    spec.selector = { ...spec.selector, matchLabels: { ...spec.selector?.matchLabels, ...pairs } };
  } else if (obj.kind === 'NetworkPolicy') spec.podSelector = { ...spec.podSelector, matchLabels: { ...spec.podSelector?.matchLabels, ...pairs } };
}

/** Splits `registry:5000/repo/name:tag@sha256:...` into name, tag and digest. */
export function parseImage(ref: string): { name: string; tag?: string; digest?: string } {
  const [rest, digest] = ref.split('@') as [string, string | undefined];
  const slash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  const hasTag = colon > slash;
  return { name: hasTag ? rest.slice(0, colon) : rest, ...(hasTag ? { tag: rest.slice(colon + 1) } : {}), ...(digest ? { digest } : {}) };
}

/** kustomize's image transformer: every `image` of a `containers`/`initContainers` item, at any depth (pod templates, ServingRuntimes). */
function replaceImages(node: unknown, image: NonNullable<Kustomization['images']>[number]): void {
  if (Array.isArray(node)) return node.forEach((n) => replaceImages(n, image));
  if (typeof node !== 'object' || node === null) return;
  for (const [key, value] of Object.entries(node as Record<string, unknown>)) {
    if ((key === 'containers' || key === 'initContainers') && Array.isArray(value)) {
      for (const c of value as Array<{ image?: string }>) {
        if (typeof c.image !== 'string') continue;
        const cur = parseImage(c.image);
        if (cur.name !== image.name) continue;
        const name = image.newName ?? cur.name;
        if (image.digest) c.image = `${name}@${image.digest}`;
        else {
          const tag = image.newTag ?? cur.tag;
          c.image = `${name}${tag ? `:${tag}` : ''}${!image.newTag && cur.digest ? `@${cur.digest}` : ''}`;
        }
      }
    }
    replaceImages(value, image);
  }
}
