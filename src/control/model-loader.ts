import { availableParallelism, totalmem } from 'node:os';
import { resolve } from 'node:path';
import type { InferenceService, ModelSpec, PredictorSpec } from '../api/resources/inference-service.js';
import { MODULE_ANNOTATION, type ServingRuntime } from '../api/resources/serving-runtime.js';
import type { Config, ThreadCounts } from '../config/config.js';
import type { Logger } from '../observability/logger.js';
import { loadCustomModel } from '../runtimes/custom/custom-runtime.js';
import { PROCESS_ANNOTATION, ProcessLoadError, loadProcessModel } from '../runtimes/process/process-runtime.js';
import { runtimeForFormat } from '../runtimes/index.js';
import type { LoadContext, LoadedModel } from '../runtimes/types.js';
import { BatchSplitModel, INLINE_BATCH_MICROS } from '../serving/replicas/batch-split-model.js';
import { ReplicaSet } from '../serving/replicas/replica-set.js';
import { chooseThreads } from '../serving/replicas/thread-policy.js';
import { WorkerModel } from '../serving/replicas/worker-model.js';
import type { WorkerTarget } from '../serving/replicas/worker-protocol.js';
import type { StorageProgress } from '../storage/download.js';
import { integrityOf } from '../storage/integrity.js';
import { resolveStorageUri } from '../storage/storage-uri.js';
import { RuntimePolicy, isTrusted } from './runtime-policy.js';
import { selectRuntime } from './runtime-selection.js';
import { expandTemplate } from './template.js';

export interface RuntimeEntry {
  resource: ServingRuntime;
  baseDir: string;
}

/** Overrides a runtime's thread isolation: `worker` or `inline`. */
export const ISOLATION_ANNOTATION = 'inferd.dev/isolation';

interface ProbeRequest {
  belowMicros: number;
  /** Measure slower models too (for the thread policy), not only those below `belowMicros`. */
  slow: boolean;
}

/** Starts `count` worker-thread replicas of one model; all must load. */
async function startReplicas(target: WorkerTarget, ctx: LoadContext, count: number, logLevel: string, probeRequest?: ProbeRequest, heapLimitMb?: number): Promise<ReplicaSet> {
  const { log: _log, signal: _signal, ...plain } = ctx;
  let probe = probeRequest;
  const start = () => {
    // Only the first replica is probed: the answer is the model's, not the replica's.
    const probing = probe ? { probeBelowMicros: probe.belowMicros, probeSlow: probe.slow } : {};
    const init = { target, ctx: plain, logLevel, ...probing, ...(heapLimitMb !== undefined ? { heapLimitMb } : {}) };
    probe = undefined;
    return WorkerModel.start(init);
  };
  const results = await Promise.allSettled(Array.from({ length: count }, start));
  const started = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await Promise.allSettled(started.map((m) => m.unload()));
    throw failed.reason;
  }
  return new ReplicaSet(started, start);
}

/** A load failure with KServe's `lastFailureInfo.reason`. */
export class LoadError extends Error {
  constructor(readonly reason: string, message: string) {
    super(message);
  }
}

export interface LoaderDeps {
  config: Config;
  logLevel: string;
  threads: ThreadCounts;
  /** Namespace runtimes and cluster runtimes (built-ins included), as of now. */
  runtimes(namespace: string): { namespaced: RuntimeEntry[]; cluster: RuntimeEntry[] };
}

export interface LoadResult {
  model: LoadedModel;
  runtime: ServingRuntime;
}

/** A policy refusal at load time becomes the revision's failure condition. */
function allowed<T>(check: () => T): T {
  try {
    return check();
  } catch (err) {
    throw new LoadError('RuntimeNotAllowed', (err as Error).message);
  }
}

/** An operator's or admin's module path as given; anyone else's only by real path inside `runtimes.moduleRoots`. */
function checkedModule(deps: LoaderDeps, runtime: RuntimeEntry, modulePath: string): string {
  if (isTrusted(runtime.resource)) return resolve(runtime.baseDir, modulePath);
  return new RuntimePolicy(deps.config.runtimes).checkModule(`${runtime.resource.kind} ${runtime.resource.metadata.name}`, modulePath, runtime.baseDir);
}

/**
 * The apply-time rules again, on what is stored now: a resource stored by a tenant under
 * wider allow-lists (or before they existed) cannot run what the operator allows no more.
 */
function checkStored(deps: LoaderDeps, isvc: InferenceService, spec: ModelSpec, runtime: RuntimeEntry): void {
  const policy = new RuntimePolicy(deps.config.runtimes);
  const rt = runtime.resource;
  if (!isTrusted(rt)) policy.checkContainers(`${rt.kind} ${rt.metadata.name}`, rt.spec.containers);
  if (!isTrusted(isvc)) policy.checkContainers(`InferenceService ${isvc.metadata.name}`, [spec]);
}

/** Selects the runtime for a predictor, resolves its storage and loads the model. */
export async function loadPredictor(
  deps: LoaderDeps,
  isvc: InferenceService,
  predictor: PredictorSpec,
  baseDir: string,
  log: Logger,
  onProgress?: (p: StorageProgress) => void,
  signal?: AbortSignal,
): Promise<LoadResult> {
  const spec = predictor.model;
  if (!spec) throw new LoadError('InvalidPredictorSpec', 'spec.predictor.containers without spec.predictor.model is not yet supported');
  const meta = isvc.metadata;
  const { namespaced, cluster } = deps.runtimes(meta.namespace ?? 'default');
  let chosen: ServingRuntime;
  try {
    chosen = selectRuntime(spec, { namespaced: namespaced.map((r) => r.resource), cluster: cluster.map((r) => r.resource) });
  } catch (err) {
    throw new LoadError((err as { reason?: string }).reason ?? 'NoSupportingRuntime', (err as Error).message);
  }
  const runtime = [...namespaced, ...cluster].find((r) => r.resource === chosen)!;
  const container = chosen.spec.containers.find((c) => c.name === 'kserve-container') ?? chosen.spec.containers[0]!;
  const modulePath = chosen.metadata.annotations?.[MODULE_ANNOTATION];
  const impl = runtimeForFormat(spec.modelFormat.name);
  const runsProcess = !modulePath && (!impl || chosen.metadata.annotations?.[PROCESS_ANNOTATION] === 'true') && !!container.command?.length;
  const module = !modulePath ? undefined : allowed(() => checkedModule(deps, runtime, modulePath));
  allowed(() => checkStored(deps, isvc, spec, runtime));
  const env: Record<string, string> = {};
  for (const e of [...(container.env ?? []), ...(spec.env ?? [])]) if (e.value !== undefined) env[e.name] = expandTemplate(e.value, meta);
  // Without auth every caller is the operator; else file:// reaches storage.fileRoots, and a manifest of `serve -f` (it has a source) its own directory too.
  const fileRoots = deps.config.security.auth === 'none' ? 'any' : [...deps.config.storage.fileRoots, ...(meta.annotations?.['inferd.dev/source'] ? [baseDir] : [])];
  const path = spec.storageUri ? await resolveStorageUri(spec.storageUri, deps.config.storage, { baseDir, dataDir: deps.config.dataDir, env, onProgress, fileRoots, ...integrityOf(isvc, predictor) }) : baseDir;
  const ctx: LoadContext = {
    name: meta.name,
    path,
    format: spec.modelFormat,
    args: [...(container.args ?? []), ...(spec.args ?? [])].map((a) => expandTemplate(a, meta)),
    env,
    threads: deps.threads,
    maxDecodedBytes: deps.config.limits.maxModelDecodedBytes,
    log,
    ...(signal ? { signal } : {}),
    process: { namespace: meta.namespace ?? 'default', dataDir: deps.config.dataDir, baseDir: runtime.baseDir },
  };
  const isolation = chosen.metadata.annotations?.[ISOLATION_ANNOTATION];
  const replicas = Math.max(1, predictor.minReplicas ?? 1);
  if (module !== undefined) {
    if (isolation === 'worker') return { model: await startReplicas({ module }, ctx, replicas, deps.logLevel), runtime: chosen };
    return { model: await loadCustomModel(module, ctx), runtime: chosen };
  }
  if (runsProcess) {
    return { model: await loadProcessModel(ctx, { ...ctx.process!, container, annotations: chosen.metadata.annotations ?? {} }).catch(processFailure), runtime: chosen };
  }
  if (!impl) {
    throw new LoadError('RuntimeNotRecognized', `runtime "${chosen.metadata.name}" has no in-process implementation for format "${spec.modelFormat.name}", no ${MODULE_ANNOTATION} annotation and no container command to run`);
  }
  if ((isolation ?? impl.isolation) !== 'worker') return { model: await impl.load(ctx).catch(processFailure), runtime: chosen };
  // One replica and no autoscaling, isolation not chosen by the runtime's author: a model
  // faster than the runtime's threshold moves to the main thread (probed in its worker first,
  // so a slow model never blocks the event loop, not even while loading).
  const single = isolation === undefined && replicas === 1 && (predictor.maxReplicas ?? 1) <= 1;
  // Room for the decoded model twice over (parse values, then the built structures) plus the runtime itself.
  const heapLimitMb = impl.boundedHeap ? 256 + Math.ceil((2 * deps.config.limits.maxModelDecodedBytes) / (1024 * 1024)) : undefined;
  const policed = impl.explicitIntraOp !== undefined;
  const explicit = deps.config.threads.intraOp !== undefined || impl.explicitIntraOp?.(ctx) === true;
  const inlineBelow = single ? impl.inlineBelowMicros : undefined;
  const probe = policed && !explicit ? { belowMicros: inlineBelow ?? 0, slow: true } : inlineBelow !== undefined ? { belowMicros: inlineBelow, slow: false } : undefined;
  const set = await startReplicas({ runtime: impl.name }, ctx, replicas, deps.logLevel, probe, heapLimitMb);
  const micros = set.probeMicros;
  if (micros === undefined || inlineBelow === undefined || micros >= inlineBelow) {
    if (!policed) return { model: set, runtime: chosen };
    // maxReplicas 0 autoscales up to the core count (endpoint-options).
    const maxReplicas = predictor.maxReplicas === 0 ? availableParallelism() : Math.max(replicas, predictor.maxReplicas ?? 1);
    const replicasFixed = maxReplicas > 1;
    return { model: await applyThreadPolicy(set, { runtime: impl.name }, ctx, { micros, explicit, replicas, maxReplicas, replicasFixed, logLevel: deps.logLevel, heapLimitMb }), runtime: chosen };
  }
  const inline = await impl.load(ctx);
  await set.unload();
  // A call's cost grows with its rows: batches whose rows × the probed one-row cost could stall
  // the event loop go to a worker replica, whatever the runtime.
  const maxInlineRows = Math.max(1, Math.floor(INLINE_BATCH_MICROS / Math.max(micros, 1)));
  const startWorker = () => {
    log.info({ maxInlineRows }, `a batch of more than ${maxInlineRows} rows: starting a worker replica for large batches`);
    return startReplicas({ runtime: impl.name }, ctx, 1, deps.logLevel, undefined, heapLimitMb);
  };
  log.info({ probeMicros: Math.round(micros * 10) / 10, maxInlineRows }, `model computes in ${micros.toFixed(0)} µs: batches up to ${maxInlineRows} rows are served on the main thread, larger ones in a worker (set ${ISOLATION_ANNOTATION}: worker on the runtime to keep every call in a worker thread)`);
  return { model: new BatchSplitModel(inline, startWorker, maxInlineRows), runtime: chosen };
}

/** A process that could not start (an external runtime, vLLM) fails the load with its KServe-style reason. */
function processFailure(err: unknown): never {
  throw err instanceof ProcessLoadError ? new LoadError(err.reason, err.message) : err;
}

interface PolicyInputs {
  micros: number | undefined;
  explicit: boolean;
  replicas: number;
  maxReplicas: number;
  replicasFixed: boolean;
  logLevel: string;
  heapLimitMb: number | undefined;
}

/**
 * Logs the thread decision for a model served by worker replicas and applies it: more
 * replicas of the same threads are started beside the first; other intra-op threads need
 * new replicas (a native session's thread pool is fixed when it is created).
 */
async function applyThreadPolicy(set: ReplicaSet, target: WorkerTarget, ctx: LoadContext, p: PolicyInputs): Promise<ReplicaSet> {
  const cores = availableParallelism();
  const memoryBytes = set.memoryBytes() / Math.max(1, set.size);
  const decision = chooseThreads({ probeMicros: p.micros, cores, intraOp: ctx.threads.intraOp, replicas: p.replicas, maxReplicas: p.maxReplicas, explicit: p.explicit, replicasFixed: p.replicasFixed, memoryBytes, totalMemory: totalmem() });
  const probeMicros = p.micros === undefined ? undefined : Math.round(p.micros);
  ctx.log.info({ probeMicros, cores, memoryBytes: Math.round(memoryBytes), intraOp: decision.intraOp, replicas: decision.replicas, reason: decision.reason }, `threads: ${decision.replicas} replica(s) × ${decision.intraOp} intra-op thread(s) (${decision.reason})`);
  if (decision.intraOp === ctx.threads.intraOp) {
    if (decision.replicas !== set.size) await set.scaleTo(decision.replicas);
    return set;
  }
  const threaded = { ...ctx, threads: { ...ctx.threads, intraOp: decision.intraOp } };
  const reloaded = await startReplicas(target, threaded, decision.replicas, p.logLevel, undefined, p.heapLimitMb);
  await set.unload();
  return reloaded;
}
