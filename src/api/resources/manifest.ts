import { readFile, stat } from 'node:fs/promises';
import { join, extname, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { z } from 'zod';
import { InferdError } from '../errors.js';
import { inferenceServiceSchema, LEGACY_FRAMEWORKS, type InferenceService } from './inference-service.js';
import { checkLoadAnnotation } from './load-mode.js';
import { clusterServingRuntimeSchema, servingRuntimeSchema, type ServingRuntime } from './serving-runtime.js';
import { filesIn } from '../../storage/dir-files.js';
import { refuseUnsupported } from './unsupported.js';

export type Resource = InferenceService | ServingRuntime;

/** Where a resource came from, so errors and relative paths can point back to it. */
export interface ResourceSource {
  file?: string;
  document: number;
}

export interface LoadedResource {
  resource: Resource;
  source: ResourceSource;
}

const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

const SCHEMAS: Record<string, Record<string, z.ZodType<Resource>>> = {
  'serving.kserve.io/v1beta1': { InferenceService: inferenceServiceSchema },
  'serving.kserve.io/v1alpha1': { ServingRuntime: servingRuntimeSchema, ClusterServingRuntime: clusterServingRuntimeSchema },
};

function where(source: ResourceSource): string {
  return `${source.file ?? '<request body>'} document ${source.document + 1}`;
}

/** Formats a zod issue path as `spec.predictor.model.storageUri` or `args[2]`. */
export function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out || '(root)';
}

/** Validates one parsed document; throws invalid_input naming source and field. */
export function validateResource(doc: unknown, source: ResourceSource): Resource {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new InferdError('invalid_input', `${where(source)}: expected a mapping with apiVersion and kind`);
  }
  const { apiVersion, kind } = doc as Record<string, unknown>;
  const byKind = typeof apiVersion === 'string' ? SCHEMAS[apiVersion] : undefined;
  if (!byKind) {
    throw new InferdError('invalid_input', `${where(source)}: field apiVersion: unsupported value ${JSON.stringify(apiVersion)} (expected one of ${Object.keys(SCHEMAS).join(', ')})`, { field: 'apiVersion' });
  }
  const schema = typeof kind === 'string' ? byKind[kind] : undefined;
  if (!schema) {
    throw new InferdError('invalid_input', `${where(source)}: field kind: unknown kind ${JSON.stringify(kind)} for ${apiVersion as string} (expected ${Object.keys(byKind).join(' or ')})`, { field: 'kind' });
  }
  const parsed = schema.safeParse(doc);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 5).map((i) => {
      const path = i.code === 'unrecognized_keys' ? [...i.path, i.keys[0] ?? ''] : i.path;
      const message = i.code === 'unrecognized_keys' ? `unknown field${i.keys.length > 1 ? `s ${i.keys.join(', ')}` : ''}` : i.message;
      return `field ${fieldPath(path)}: ${message}`;
    });
    const first = parsed.error.issues[0]!;
    throw new InferdError('invalid_input', `${where(source)} (${kind as string} ${nameOf(doc)}): ${issues.join('; ')}`, { field: fieldPath(first.path) });
  }
  const resource = normalize(parsed.data);
  refuseUnsupported(resource, `${where(source)} (${kind as string} ${nameOf(doc)})`);
  return resource;
}

function nameOf(doc: object): string {
  const meta = (doc as { metadata?: { name?: unknown } }).metadata;
  return typeof meta?.name === 'string' ? `"${meta.name}"` : '(unnamed)';
}

/** Defaults the namespace and turns legacy framework fields into `predictor.model`. */
function normalize(resource: Resource): Resource {
  resource.metadata.namespace ??= 'default';
  if (resource.kind !== 'InferenceService') return resource;
  const predictor = resource.spec.predictor;
  for (const framework of LEGACY_FRAMEWORKS) {
    const legacy = predictor[framework];
    if (!legacy) continue;
    if (predictor.model) {
      throw new InferdError('invalid_input', `InferenceService "${resource.metadata.name}": field spec.predictor.${framework}: cannot be combined with spec.predictor.model`, { field: `spec.predictor.${framework}` });
    }
    predictor.model = { ...legacy, modelFormat: { name: framework } };
    delete predictor[framework];
  }
  const canary = resource.spec.canary ?? [];
  const total = canary.reduce((sum, c) => sum + c.trafficPercent, 0);
  if (total > 100) {
    throw new InferdError('invalid_input', `InferenceService "${resource.metadata.name}": field spec.canary: trafficPercent values sum to ${total}, more than 100`, { field: 'spec.canary' });
  }
  canary.forEach((c, i) => {
    if (c.predictor.model && !c.predictor.model.modelFormat && !resource.spec.predictor.model?.modelFormat) {
      const field = `spec.canary[${i}].predictor.model.modelFormat`;
      throw new InferdError('invalid_input', `InferenceService "${resource.metadata.name}": field ${field}: required (the main predictor has no model to merge this one over)`, { field });
    }
  });
  const names = canary.map((c, i) => c.predictor.name ?? `canary-${i}`);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new InferdError('invalid_input', `InferenceService "${resource.metadata.name}": field spec.canary: two entries are named "${dup}"`, { field: 'spec.canary' });
  checkLoadAnnotation(resource);
  if (!predictor.model && !predictor.containers) {
    throw new InferdError('invalid_input', `InferenceService "${resource.metadata.name}": field spec.predictor.model: required (or one of ${LEGACY_FRAMEWORKS.join(', ')})`, { field: 'spec.predictor.model' });
  }
  return resource;
}

/** Parses YAML text with one or many documents; empty documents are skipped. */
export function parseManifest(text: string, file?: string): LoadedResource[] {
  if (text.length > MAX_MANIFEST_BYTES) {
    throw new InferdError('too_large', `${file ?? 'manifest'} is larger than ${MAX_MANIFEST_BYTES} bytes`);
  }
  const docs = parseAllDocuments(text, { uniqueKeys: true, prettyErrors: true });
  const list = Array.isArray(docs) ? docs : [docs];
  const out: LoadedResource[] = [];
  list.forEach((doc, index) => {
    const source: ResourceSource = file === undefined ? { document: index } : { file, document: index };
    const error = doc.errors[0];
    if (error) throw new InferdError('invalid_input', `${where(source)}: invalid YAML: ${error.message.split('\n')[0]}`);
    let value: unknown;
    try {
      // maxAliasCount bounds alias expansion (the "billion laughs" document).
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (err) {
      // An alias to an anchor that does not exist, or too many aliases: the YAML is bad, not the server.
      throw new InferdError('invalid_input', `${where(source)}: invalid YAML: ${(err as Error).message.split('\n')[0]}`);
    }
    if (value === null || value === undefined) return;
    out.push({ resource: validateResource(value, source), source });
  });
  return out;
}

/** Reads manifests from files and directories (`.yaml`, `.yml`, `.json`), sorted by name. */
export async function loadManifests(paths: readonly string[]): Promise<LoadedResource[]> {
  const out: LoadedResource[] = [];
  for (const p of paths) {
    for (const file of await manifestFiles(resolve(p))) {
      const info = await stat(file);
      if (info.size > MAX_MANIFEST_BYTES) throw new InferdError('too_large', `${file} is larger than ${MAX_MANIFEST_BYTES} bytes`);
      out.push(...parseManifest(await readFile(file, 'utf8'), file));
    }
  }
  return out;
}

async function manifestFiles(path: string): Promise<string[]> {
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new InferdError('not_found', `manifest path ${path} does not exist`);
  if (info.isFile()) return [path];
  return (await filesIn(path))
    .filter((name) => ['.yaml', '.yml', '.json'].includes(extname(name).toLowerCase()))
    .map((name) => join(path, name))
    .sort();
}
