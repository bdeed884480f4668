/** The shapes of inferd's API that the dashboard reads (only the fields it uses). */

export type Permission = 'read' | 'infer' | 'deploy' | 'admin' | 'metrics';

export interface WhoAmI {
  subject: string;
  roles: string[];
  namespaces: string[] | '*';
  permissions: Permission[];
  auth: 'none' | 'key' | 'oidc';
}

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

export interface TrafficStatus {
  revisionName: string;
  percent: number;
  latestRevision: boolean;
  tag?: string;
}

export interface ModelSpec {
  modelFormat?: { name: string; version?: string };
  runtime?: string;
  storageUri?: string;
  args?: string[];
  [k: string]: unknown;
}

export interface PredictorSpec {
  model?: ModelSpec;
  minReplicas?: number;
  maxReplicas?: number;
  canaryTrafficPercent?: number;
  [k: string]: unknown;
}

export interface InferenceService {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string>; labels?: Record<string, string>; generation?: number; resourceVersion?: string; creationTimestamp?: string };
  spec: { predictor: PredictorSpec; [k: string]: unknown };
  status?: {
    url?: string;
    conditions?: Condition[];
    servingRuntimeName?: string;
    clusterServingRuntimeName?: string;
    components?: { predictor?: { traffic?: TrafficStatus[]; latestCreatedRevision?: string; latestReadyRevision?: string; latestRolledoutRevision?: string; previousRolledoutRevision?: string } };
    modelStatus?: { transitionStatus?: string; states?: { activeModelState?: string; targetModelState?: string }; lastFailureInfo?: { reason: string; message: string; time?: string } };
  };
}

export interface TopRow {
  namespace: string;
  model: string;
  revision: string;
  state: string;
  rps: number;
  requests: number;
  errors: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  queued: number;
  running: number;
  memoryBytes: number;
  replicas?: { current: number; desired: number };
  batchSize?: number;
}

export interface Top {
  time: string;
  windowSeconds: number;
  models: TopRow[];
}

export interface Revision {
  name: string;
  number: number;
  variant: string;
  createdAt: string;
  outcome: string;
  message?: string;
}

export interface KEvent {
  time: string;
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export interface TensorMeta {
  name: string;
  datatype: string;
  shape: number[];
}

export interface ModelMetadata {
  name: string;
  versions?: string[];
  platform?: string;
  inputs?: TensorMeta[];
  outputs?: TensorMeta[];
}

export interface KeyItem {
  id: string;
  prefix: string;
  role: string;
  namespaces: string[] | '*';
  description?: string;
  createdAt: string;
  expiresAt?: string | null;
  revoked?: boolean;
  state?: string;
}

export interface AuditEntry {
  seq: number;
  time: string;
  principal: string;
  action: string;
  resource: string;
  outcome: string;
  details?: Record<string, unknown>;
}

export interface AuditVerify {
  ok: boolean;
  entries: number;
  files: string[];
  error?: string;
}

export interface ServerInfo {
  memory: { budgetBytes: number | null; usedBytes: number; [k: string]: unknown };
  models: Array<{ namespace: string; name: string; revision: string; state: string; memoryBytes: number; lastUsed?: string | number | null }>;
  history: Array<{ time: string; kind: string; namespace: string; name: string; revision: string; bytes?: number; reason?: string }>;
  process: { cpuPercent: number; rssBytes: number; heapUsedBytes: number; eventLoopLagSeconds: number; uptimeSeconds: number };
  gpu: Array<Record<string, unknown>> | null;
}
