import { validateKserve, validateWithClass, type Issue } from './kserve-schema.js';
import { validateKustomization } from './kustomize.js';

export { readYamlDocs, type K8sObject } from './yaml-docs.js';

const KSERVE_KINDS = new Set(['serving.kserve.io/v1beta1/InferenceService', 'serving.kserve.io/v1alpha1/ServingRuntime', 'serving.kserve.io/v1alpha1/ClusterServingRuntime']);

/** The kubernetes-models module of an apiVersion: `v1` → kubernetes-models/v1, `apps/v1` → kubernetes-models/apps/v1. */
async function builtinClass(apiVersion: string, kind: string): Promise<(new (d: unknown) => { validate(): void }) | undefined> {
  if (!/^([a-z0-9.-]+\/)?v\d+((alpha|beta)\d+)?$/.test(apiVersion)) return undefined;
  const mod = (await import(`kubernetes-models/${apiVersion}`).catch(() => undefined)) as Record<string, unknown> | undefined;
  const cls = mod?.[kind];
  return typeof cls === 'function' ? (cls as new (d: unknown) => { validate(): void }) : undefined;
}

/**
 * Validates one object the way a cluster would before accepting it: Kubernetes' built-in kinds
 * with kubernetes-models (Kubernetes' own OpenAPI schemas), KServe's kinds with the condensed
 * CRD schemas (unknown fields rejected), a kustomization with the subset the renderer supports.
 * A kind none of them knows is an issue, not a pass.
 */
export async function validateObject(obj: unknown): Promise<Issue[]> {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return [{ path: '(root)', message: 'not an object' }];
  const o = obj as Record<string, unknown>;
  if (typeof o.apiVersion !== 'string' || typeof o.kind !== 'string') return [{ path: '(root)', message: 'apiVersion and kind are required' }];
  if (KSERVE_KINDS.has(`${o.apiVersion}/${o.kind}`)) return validateKserve(o);
  if (o.kind === 'Kustomization') return validateKustomization(o);
  const cls = await builtinClass(o.apiVersion, o.kind);
  if (!cls) return [{ path: 'kind', message: `unknown kind ${o.apiVersion}/${o.kind}: no schema to validate it against` }];
  const issues = validateWithClass(cls, o);
  const meta = o.metadata as Record<string, unknown> | undefined;
  if (typeof meta?.name !== 'string' || meta.name === '') issues.push({ path: 'metadata.name', message: 'required field is missing' });
  return issues;
}

export function formatIssues(issues: readonly Issue[]): string {
  return issues.map((i) => `${i.path}: ${i.message}`).join('\n');
}
