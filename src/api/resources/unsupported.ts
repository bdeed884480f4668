import { InferdError } from '../errors.js';
import type { Resource } from './manifest.js';

/**
 * Fields inferd refuses at apply: each would change what a request returns or where the
 * model comes from, so accepting and ignoring it would serve something else than the
 * manifest asks for. The message says where that work belongs instead.
 */
const REFUSED: Record<string, Readonly<Record<string, string>>> = {
  InferenceService: {
    'spec.transformer': 'not supported by inferd: run pre/post-processing in a custom runtime (inferd.dev/module, see docs/runtimes/custom.md) or in the client',
    'spec.explainer': 'not supported by inferd: there is no :explain endpoint; compute explanations in a custom runtime (inferd.dev/module) or outside the server',
    'spec.predictor.model.storage': 'not supported by inferd: give the model location as spec.predictor.model.storageUri',
  },
};

/**
 * Accepted fields that the local server does not act on: Kubernetes placement and
 * ModelMesh deployment settings, which `inferd export` carries to a cluster. They are
 * reported once in the log at apply time (docs/configuration.md lists them).
 */
const IGNORED: Record<string, readonly string[]> = {
  InferenceService: [
    'spec.predictor.containers',
    'spec.predictor.model.resources', 'spec.predictor.model.ports',
    'spec.predictor.serviceAccountName', 'spec.predictor.nodeSelector', 'spec.predictor.tolerations',
    'spec.predictor.affinity', 'spec.predictor.volumes',
  ],
  ServingRuntime: ['spec.multiModel', 'spec.builtInAdapter', 'spec.workerSpec', 'spec.replicas', 'spec.nodeSelector', 'spec.tolerations', 'spec.affinity', 'spec.volumes'],
};
IGNORED.ClusterServingRuntime = IGNORED.ServingRuntime!;

export function unsupportedFields(resource: Resource): string[] {
  return (IGNORED[resource.kind] ?? []).filter((path) => lookup(resource, path) !== undefined);
}

/** Throws invalid_input naming the first refused field the resource sets (canary predictors included). */
export function refuseUnsupported(resource: Resource, where: string): void {
  const refused = REFUSED[resource.kind] ?? {};
  const paths = Object.keys(refused);
  const canary = resource.kind === 'InferenceService' ? resource.spec.canary ?? [] : [];
  const checks: [string, unknown][] = paths.map((p) => [p, lookup(resource, p)]);
  canary.forEach((c, i) => {
    for (const p of paths) {
      if (p.startsWith('spec.predictor.')) checks.push([`spec.canary[${i}].predictor.${p.slice('spec.predictor.'.length)}`, lookup(c.predictor, p.slice('spec.predictor.'.length))]);
    }
  });
  for (const [field, value] of checks) {
    if (value === undefined) continue;
    const reason = refused[field.replace(/^spec\.canary\[\d+\]\.predictor\./, 'spec.predictor.')]!;
    throw new InferdError('invalid_input', `${where}: field ${field}: ${reason}`, { field });
  }
}

function lookup(obj: unknown, path: string): unknown {
  let cur = obj;
  for (const key of path.split('.')) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}
