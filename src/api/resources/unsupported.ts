import type { Resource } from './manifest.js';

/**
 * Accepted fields that inferd does not act on yet. They are reported once in the
 * log at apply time rather than silently ignored. Shrink this list as features land.
 */
const UNSUPPORTED: Record<string, readonly string[]> = {
  InferenceService: [
    'spec.transformer', 'spec.explainer',
    'spec.predictor.containers',
    'spec.predictor.model.storage', 'spec.predictor.model.resources', 'spec.predictor.model.ports',
    'spec.predictor.serviceAccountName', 'spec.predictor.nodeSelector', 'spec.predictor.tolerations',
    'spec.predictor.affinity', 'spec.predictor.volumes',
  ],
  ServingRuntime: ['spec.multiModel', 'spec.builtInAdapter', 'spec.workerSpec', 'spec.replicas', 'spec.nodeSelector', 'spec.tolerations', 'spec.affinity', 'spec.volumes'],
};
UNSUPPORTED.ClusterServingRuntime = UNSUPPORTED.ServingRuntime!;

export function unsupportedFields(resource: Resource): string[] {
  return (UNSUPPORTED[resource.kind] ?? []).filter((path) => lookup(resource, path) !== undefined);
}

function lookup(obj: unknown, path: string): unknown {
  let cur = obj;
  for (const key of path.split('.')) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}
