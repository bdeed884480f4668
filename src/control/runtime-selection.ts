import type { ModelSpec } from '../api/resources/inference-service.js';
import type { ServingRuntime, SupportedFormat } from '../api/resources/serving-runtime.js';
import type { ProtocolVersion } from '../api/resources/common.js';

export type SelectionFailure = 'RuntimeNotRecognized' | 'RuntimeDisabled' | 'NoSupportingRuntime';

export class RuntimeSelectionError extends Error {
  constructor(readonly reason: SelectionFailure, message: string) {
    super(message);
  }
}

export interface RuntimeCatalog {
  /** ServingRuntimes in the InferenceService's namespace. */
  namespaced: readonly ServingRuntime[];
  /** ClusterServingRuntimes, built-in ones included. */
  cluster: readonly ServingRuntime[];
}

const PROTOCOL_ORDER: readonly ProtocolVersion[] = ['v1', 'v2', 'grpc-v1', 'grpc-v2'];

function formatMatches(f: SupportedFormat, model: ModelSpec['modelFormat']): boolean {
  // An unversioned model matches any version; versions otherwise compare as exact strings.
  return f.name === model.name && (model.version === undefined || f.version === model.version);
}

function supportsProtocol(rt: ServingRuntime, protocol: ProtocolVersion): boolean {
  const list = rt.spec.protocolVersions;
  return !list || list.length === 0 || list.includes(protocol);
}

function lowestProtocol(rt: ServingRuntime): number {
  const list = rt.spec.protocolVersions ?? [];
  const ranks = list.map((p) => PROTOCOL_ORDER.indexOf(p));
  return ranks.length ? Math.min(...ranks) : PROTOCOL_ORDER.length;
}

function describe(model: ModelSpec['modelFormat']): string {
  return model.version ? `${model.name}:${model.version}` : model.name;
}

/** KServe's runtime choice: an explicit name wins; otherwise auto-select by format and priority. */
export function selectRuntime(model: ModelSpec, catalog: RuntimeCatalog): ServingRuntime {
  const protocol = model.protocolVersion ?? 'v1';
  if (model.runtime) {
    const rt = catalog.namespaced.find((r) => r.metadata.name === model.runtime) ?? catalog.cluster.find((r) => r.metadata.name === model.runtime);
    if (!rt) throw new RuntimeSelectionError('RuntimeNotRecognized', `no ServingRuntime or ClusterServingRuntime named "${model.runtime}"`);
    if (rt.spec.disabled) throw new RuntimeSelectionError('RuntimeDisabled', `runtime "${model.runtime}" is disabled`);
    if (!(rt.spec.supportedModelFormats ?? []).some((f) => formatMatches(f, model.modelFormat))) {
      throw new RuntimeSelectionError('NoSupportingRuntime', `runtime "${model.runtime}" does not support model format ${describe(model.modelFormat)}`);
    }
    return rt;
  }
  const pick = (runtimes: readonly ServingRuntime[]): ServingRuntime | undefined => {
    const candidates = runtimes
      .filter((rt) => !rt.spec.disabled && !rt.spec.multiModel && !rt.spec.workerSpec && supportsProtocol(rt, protocol))
      .map((rt) => ({ rt, format: (rt.spec.supportedModelFormats ?? []).find((f) => f.autoSelect === true && formatMatches(f, model.modelFormat)) }))
      .filter((c): c is { rt: ServingRuntime; format: SupportedFormat } => c.format !== undefined);
    candidates.sort((a, b) => lowestProtocol(a.rt) - lowestProtocol(b.rt) || a.rt.metadata.name.localeCompare(b.rt.metadata.name));
    // Stable sort keeps the protocol/name order among equal priorities; unset priority goes last.
    candidates.sort((a, b) => (b.format.priority ?? 0) - (a.format.priority ?? 0));
    return candidates[0]?.rt;
  };
  const rt = pick(catalog.namespaced) ?? pick(catalog.cluster);
  if (!rt) throw new RuntimeSelectionError('NoSupportingRuntime', `no runtime with autoSelect supports model format ${describe(model.modelFormat)} over protocol ${protocol}`);
  return rt;
}
