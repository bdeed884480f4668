import type { ProcessView } from '../runtimes/process/registry.js';
import type { ModelState } from '../serving/model-endpoint.js';
import type { StorageProgress } from '../storage/download.js';

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  severity?: 'Info';
  lastTransitionTime: string;
}

export interface TrafficStatus {
  revisionName: string;
  percent: number;
  latestRevision: boolean;
  tag?: string;
}

export interface InferenceServiceStatus {
  observedGeneration: number;
  /** A URL that routes by itself: `/v2/models/{name}` in `default`, else under `/ns/{namespace}`. */
  url?: string;
  /** Host-based form, `{name}.{namespace}.{serving.domain}` (needs DNS or a Host header pointing at inferd). */
  address?: { url: string };
  conditions: Condition[];
  servingRuntimeName?: string;
  clusterServingRuntimeName?: string;
  components: {
    predictor: {
      latestCreatedRevision?: string;
      latestReadyRevision?: string;
      latestRolledoutRevision?: string;
      previousRolledoutRevision?: string;
      traffic: TrafficStatus[];
    };
  };
  canaryStatuses?: Array<{ name: string; ready: boolean; trafficPercent: number; revision?: string }>;
  modelStatus: {
    transitionStatus: 'UpToDate' | 'InProgress' | 'BlockedByFailedLoad' | 'InvalidSpec';
    states: { activeModelState: ModelState | ''; targetModelState: ModelState };
    lastFailureInfo?: { reason: string; message: string; time: string };
    /** inferd: the latest revision's model download while it runs (bytes, rate, ETA). */
    download?: StorageProgress;
  };
  /** inferd: the external processes serving this InferenceService (state, pid, restarts, last exit). */
  processes?: ProcessView[];
}

/**
 * Sets a condition, keeping its transition time while its status does not change
 * (as Kubernetes conditions do).
 */
export function setCondition(conditions: Condition[], next: Omit<Condition, 'lastTransitionTime'>): Condition[] {
  const prev = conditions.find((c) => c.type === next.type);
  const time = prev && prev.status === next.status ? prev.lastTransitionTime : new Date().toISOString();
  const cond: Condition = { ...next, lastTransitionTime: time };
  return [...conditions.filter((c) => c.type !== next.type), cond].sort((a, b) => a.type.localeCompare(b.type));
}
