import type { Condition, InferenceService } from './types';

export type ModelState = 'Ready' | 'Loading' | 'FailedToLoad' | 'Pending' | 'Unknown';

export interface ModelSummary {
  key: string;
  namespace: string;
  name: string;
  state: ModelState;
  reason: string;
  runtime: string;
  format: string;
  url: string;
  minReplicas: number | null;
  maxReplicas: number | null;
  canary: number | null;
}

export const nsOf = (i: InferenceService): string => i.metadata.namespace ?? 'default';
export const keyOf = (i: InferenceService): string => `${nsOf(i)}/${i.metadata.name}`;

const cond = (i: InferenceService, type: string): Condition | undefined => i.status?.conditions?.find((c) => c.type === type);

/**
 * One word for the model's state from KServe's status: FailedToLoad wins (with the
 * failure's reason), then Ready, else Loading while a revision is being loaded.
 */
export function stateOf(i: InferenceService): { state: ModelState; reason: string } {
  const ms = i.status?.modelStatus;
  const ready = cond(i, 'Ready') ?? cond(i, 'PredictorReady');
  const failure = ms?.lastFailureInfo;
  if (ms?.states?.targetModelState === 'FailedToLoad' || ms?.transitionStatus === 'BlockedByFailedLoad' || ms?.transitionStatus === 'InvalidSpec') {
    const detail = failure ? `${failure.reason}: ${failure.message}` : (ready?.message ?? ready?.reason ?? 'the model failed to load');
    // A failed new revision while an older one still serves: ready for traffic, but say why the update failed.
    return { state: ready?.status === 'True' ? 'Ready' : 'FailedToLoad', reason: detail };
  }
  if (ready?.status === 'True') return { state: 'Ready', reason: '' };
  if (ms?.states?.targetModelState === 'Loading' || ms?.transitionStatus === 'InProgress') return { state: 'Loading', reason: ready?.message ?? '' };
  if (ms?.states?.targetModelState === 'Standby') return { state: 'Ready', reason: 'standby: loads on the first request' };
  if (ready?.status === 'False') return { state: 'FailedToLoad', reason: ready.message ?? ready.reason ?? '' };
  return { state: ms ? 'Pending' : 'Unknown', reason: ready?.message ?? '' };
}

export function formatOf(i: InferenceService): string {
  return i.spec.predictor.model?.modelFormat?.name ?? Object.keys(i.spec.predictor).find((k) => ['sklearn', 'xgboost', 'lightgbm', 'onnx', 'tensorflow', 'pytorch'].includes(k)) ?? '—';
}

export const isLlm = (i: InferenceService): boolean => ['gguf', 'llm', 'huggingface'].includes(formatOf(i).toLowerCase());

export function summarize(i: InferenceService): ModelSummary {
  const { state, reason } = stateOf(i);
  const p = i.spec.predictor;
  return {
    key: keyOf(i),
    namespace: nsOf(i),
    name: i.metadata.name,
    state,
    reason,
    runtime: i.status?.clusterServingRuntimeName ?? i.status?.servingRuntimeName ?? p.model?.runtime ?? '—',
    format: formatOf(i),
    url: i.status?.url ?? '',
    minReplicas: typeof p.minReplicas === 'number' ? p.minReplicas : null,
    maxReplicas: typeof p.maxReplicas === 'number' ? p.maxReplicas : null,
    canary: typeof p.canaryTrafficPercent === 'number' ? p.canaryTrafficPercent : null,
  };
}
