import { InferdError, invalidInput } from '../api/errors.js';
import type { InferRequest, InferResponse, ModelMetadata } from '../api/inference.js';
import type { LlmModel } from '../runtimes/llm/llm-types.js';
import type { LoadedModel } from '../runtimes/types.js';
import { Autoscaler, type AutoscaleOptions, type ScaleDecision } from './autoscaler.js';
import type { MemoryManager } from './memory-manager.js';
import { PredictionCache, type CacheOptions } from './prediction-cache.js';
import { InferScheduler, type SchedulerOptions, type SchedulerStats } from './scheduler.js';
import { validateRequest } from './validate-request.js';

/** KServe's model states; Standby is an on-demand model not loaded now (unloaded, or lazy before its first request): a request loads it. */
export type ModelState = 'Pending' | 'Standby' | 'Loading' | 'Loaded' | 'FailedToLoad';

export interface LoadFailure {
  reason: string;
  message: string;
}

export interface EndpointOptions {
  scheduler: SchedulerOptions;
  /** Opt-in prediction cache (annotation `inferd.dev/prediction-cache: "true"`). */
  cache?: CacheOptions;
  /** minReplicas 0: loaded on demand, unloaded when idle or evicted under the memory budget. */
  onDemand?: boolean;
  memory?: MemoryManager;
  /** Loads the model on demand: after a standby, or the first time for a lazy model (`inferd.dev/load: lazy`). */
  reload?: () => Promise<LoadedModel>;
  /** Replica autoscaling (minReplicas..maxReplicas), for models that can scale. */
  autoscale?: AutoscaleOptions & { perReplicaConcurrency: number; onDecision?: (d: ScaleDecision) => void };
  /** Default deadline of a request, from the predictor's `timeout` or the server config. */
  timeoutMs: number;
  /** The replicas `scheduler.concurrency` was sized for (minReplicas); default 1. */
  plannedReplicas?: number;
}

const DEFAULT_OPTIONS: EndpointOptions = { scheduler: { maxQueue: 256, concurrency: 2 }, timeoutMs: 60_000 };

/** How long `close()` waits for in-flight requests before unloading anyway. */
const DRAIN_TIMEOUT_MS = 30_000;

/** A hold on the loaded model: the endpoint counts it in flight (an unload waits) until `release`. */
export interface Lease {
  model: LoadedModel;
  /** Idempotent. */
  release(): void;
}

/**
 * One loaded revision of a model: its lifecycle state and the path from a decoded
 * request to its runtime. Protocol adapters call `infer`; they never touch the
 * runtime. In-flight requests are counted so an unload waits for them.
 */
export class ModelEndpoint {
  state: ModelState = 'Pending';
  failure?: LoadFailure;
  private model?: LoadedModel;
  private scheduler?: InferScheduler;
  private autoscaler?: Autoscaler;
  private readonly cache?: PredictionCache;
  private inflight = 0;
  /** Rejecters of the requests in flight, for `abortInflight`. */
  private readonly abortables = new Set<(err: Error) => void>();
  private drained?: () => void;
  private signatureOf?: Pick<LoadedModel, 'inputs' | 'outputs' | 'platform' | 'signatures' | 'modelVersion'>;
  private bytes = 0;
  private llmSeen?: Pick<LlmModel, 'servedNames' | 'maxModelLen'>;
  private reloading?: Promise<LoadedModel>;
  /** Requests waiting for an on-demand load; bounded like the queue they will join. */
  private waitingForLoad = 0;
  lastUsed = Date.now();
  loadedAt = 0;

  constructor(
    readonly namespace: string,
    readonly name: string,
    /** The revision number, served as the V2 model version. */
    readonly version: string,
    /** KServe-style revision name, e.g. `iris-predictor-00002`, sent back in a response header. */
    readonly revisionName: string,
    private readonly options: EndpointOptions = DEFAULT_OPTIONS,
  ) {
    if (options.cache) this.cache = new PredictionCache(options.cache);
  }

  /** Able to serve: loaded, or on standby and loadable on demand. */
  get ready(): boolean {
    return this.state === 'Loaded' || this.state === 'Standby';
  }

  /**
   * Ready, and its runtime able to answer now: false while an external process restarts or
   * fails its health checks. What probes and requests see; traffic decisions keep `ready`, so
   * a restarting process keeps its route and answers again once it is back.
   */
  get available(): boolean {
    return this.ready && this.model?.healthy?.() !== false;
  }

  get onDemand(): boolean {
    return this.options.onDemand === true;
  }

  get idle(): boolean {
    return this.inflight === 0;
  }

  private notReady(): InferdError {
    const why = this.state === 'Loaded' && this.model?.healthy?.() === false ? ': its server process is restarting or failing its health checks' : '';
    return new InferdError('not_ready', `Model with name ${this.name} is not ready${why}.`, { retryAfter: 1 });
  }

  private get loaded(): LoadedModel {
    if (!this.model || this.state !== 'Loaded') throw this.notReady();
    return this.model;
  }

  /** The loaded model, loading it first when it is on standby (one load however many callers). */
  private async ensureLoaded(): Promise<LoadedModel> {
    if (this.state !== 'Standby') return this.loaded;
    // Waiting for a load is queueing: the same bound (429) as the queue the request then joins.
    if (this.waitingForLoad >= this.options.scheduler.maxQueue) {
      throw new InferdError('overloaded', `model ${this.name} is loading and ${this.waitingForLoad} requests already wait for it`, { retryAfter: 1 });
    }
    const memory = this.options.memory;
    const load = async () => {
      if (this.state !== 'Standby') return this.loaded;
      const started = performance.now();
      await memory?.makeRoom(this, this.bytes);
      const model = await this.options.reload!();
      this.setLoaded(model);
      memory?.recordLoad(performance.now() - started);
      // A first load's size was unknown until now: evict others if it went over the budget.
      await memory?.makeRoom(this, 0).catch(() => undefined);
      return model;
    };
    this.reloading ??= (memory ? memory.serialize(load) : load()).finally(() => {
      this.reloading = undefined;
    });
    this.waitingForLoad++;
    try {
      return await this.reloading;
    } finally {
      this.waitingForLoad--;
    }
  }

  /**
   * The one way a protocol reaches the runtime model. Counts the caller in flight at once
   * (an idle unload or an eviction waits for it), then loads an on-demand model that is on
   * standby (concurrent callers share one load; a full memory budget answers not_ready, too
   * many waiters 429). V1, V2 REST and gRPC, OpenAI and TF Serving REST all come through here.
   */
  async acquire(): Promise<Lease> {
    if (!this.available) throw this.notReady();
    this.inflight++;
    this.lastUsed = Date.now();
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.lastUsed = Date.now();
      if (--this.inflight === 0) this.drained?.();
    };
    try {
      return { model: await this.ensureLoaded(), release };
    } catch (err) {
      release();
      throw err;
    }
  }

  /** Named signatures and version of the model, loading it on demand when it never loaded (a lazy model). */
  async describe(): Promise<Pick<LoadedModel, 'signatures' | 'modelVersion' | 'platform'> | undefined> {
    if (this.signatureOf || !this.ready) return this.signatureOf;
    (await this.acquire()).release();
    return this.signatureOf;
  }

  /** Named signatures and the storage's model version (TensorFlow), as of the last load. */
  get described(): Pick<LoadedModel, 'signatures' | 'modelVersion' | 'platform'> | undefined {
    return this.signatureOf;
  }

  /** The model as loaded now, without loading it (listings); requests take `acquire()`. */
  get loadedModel(): LoadedModel | undefined {
    return this.state === 'Loaded' ? this.model : undefined;
  }

  /** An LLM's served names and context length as of its last load: listings keep it while on standby. */
  get llmAsLoaded(): Pick<LlmModel, 'servedNames' | 'maxModelLen'> | undefined {
    return this.llmSeen;
  }

  /** A lazy model that waits for its first request (`inferd.dev/load: lazy`). */
  setStandby(): void {
    this.state = 'Standby';
    delete this.failure;
  }

  setLoading(): void {
    this.state = 'Loading';
    delete this.failure;
  }

  setLoaded(model: LoadedModel): void {
    this.model = model;
    this.signatureOf = {
      inputs: model.inputs,
      outputs: model.outputs,
      platform: model.platform,
      ...(model.signatures ? { signatures: model.signatures } : {}),
      ...(model.modelVersion !== undefined ? { modelVersion: model.modelVersion } : {}),
    };
    this.bytes = model.memoryBytes();
    if (model.llm) this.llmSeen = { servedNames: [...model.llm.servedNames], maxModelLen: model.llm.maxModelLen };
    this.scheduler = new InferScheduler(model, this.options.scheduler);
    this.followThreadPolicy(model, this.scheduler);
    this.startAutoscaler(model, this.scheduler);
    this.state = 'Loaded';
    this.loadedAt = Date.now();
    // A fresh load counts as a use: idle time and LRU order start from here.
    this.lastUsed = this.loadedAt;
    delete this.failure;
  }

  /**
   * The thread policy gives a heavy model a replica per core where the predictor asked for
   * none: calls in flight grow with them, as they would for minReplicas (a user's
   * containerConcurrency stands).
   */
  private followThreadPolicy(model: LoadedModel, scheduler: InferScheduler): void {
    const planned = this.options.plannedReplicas ?? 1;
    const size = model.size ?? 1;
    const s = this.options.scheduler;
    if (size > planned && !s.concurrencySet && !this.options.autoscale) scheduler.setConcurrency(Math.ceil((s.concurrency / planned) * size));
  }

  private startAutoscaler(model: LoadedModel, scheduler: InferScheduler): void {
    const a = this.options.autoscale;
    this.autoscaler?.close();
    delete this.autoscaler;
    if (!a || !model.scaleTo || a.max <= a.min) return;
    this.autoscaler = new Autoscaler(
      {
        inflight: () => scheduler.inflight,
        completed: () => scheduler.stats().completed,
        replicas: () => model.size ?? 1,
        scaleTo: async (n) => {
          await model.scaleTo!(n);
          scheduler.setConcurrency(n * a.perReplicaConcurrency);
        },
      },
      a,
      (d) => a.onDecision?.(d),
    );
  }

  /** Unloads an idle on-demand model, keeping what is needed to load it again. */
  async standby(): Promise<void> {
    if (this.state !== 'Loaded' || this.inflight > 0 || !this.options.reload) return;
    const model = this.model;
    this.state = 'Standby';
    this.autoscaler?.close();
    delete this.model;
    delete this.scheduler;
    await model?.unload();
  }

  setFailed(failure: LoadFailure): void {
    this.state = 'FailedToLoad';
    this.failure = failure;
  }

  stats(): Partial<SchedulerStats & ReturnType<PredictionCache['stats']>> & { replicas?: { current: number; desired: number; decisions: ScaleDecision[] } } {
    const replicas = this.model?.size === undefined ? {} : { replicas: { current: this.model.size, desired: this.autoscaler?.desired ?? this.model.size, decisions: this.autoscaler?.decisions.slice(-10) ?? [] } };
    return { ...this.scheduler?.stats(), ...this.cache?.stats(), ...replicas };
  }

  memoryBytes(): number {
    return this.model?.memoryBytes() ?? 0;
  }

  /** What the loaded runtime model reports itself (an LLM's vLLM-named metrics), read at scrape time. */
  runtimeMetrics(): unknown {
    return (this.model as { metrics?: () => unknown } | undefined)?.metrics?.();
  }

  metadata(): ModelMetadata {
    const m = this.model ?? this.signatureOf;
    return { name: this.name, versions: [this.version], platform: m?.platform ?? '', inputs: m ? m.inputs : [], outputs: m ? m.outputs : [] };
  }

  /** Ends the requests in flight now with `err` (shutdown's grace period is over); their runtime calls finish unobserved. */
  abortInflight(err: Error): void {
    for (const reject of this.abortables) reject(err);
    this.abortables.clear();
  }

  /** `fn` under a lease; shutdown's `abortInflight` ends the wait (the runtime call finishes unobserved). */
  private async track<T>(fn: (model: LoadedModel) => Promise<T>): Promise<T> {
    let reject: ((err: Error) => void) | undefined;
    const aborted = new Promise<never>((_, rej) => {
      reject = rej;
      this.abortables.add(rej);
    });
    let lease: Lease | undefined;
    let settled = false;
    try {
      const work = this.acquire().then((l) => {
        if (settled) {
          l.release();
          throw this.notReady();
        }
        lease = l;
        return fn(l.model);
      });
      return await Promise.race([work, aborted]);
    } finally {
      settled = true;
      this.abortables.delete(reject!);
      lease?.release();
    }
  }

  infer(req: InferRequest): Promise<InferResponse> {
    return this.track(async (model) => {
      const named = namedSignature(req, model, this.name);
      if (named) {
        // Another signature than the default one: run directly, unbatched and uncached.
        const outputs = await model.inferSignature!(named, req.inputs, validateRequest(req, model.signatures![named]!));
        return { modelName: this.name, modelVersion: this.version, outputs, ...(req.id !== undefined ? { id: req.id } : {}) };
      }
      const outputNames = validateRequest(req, model);
      const key = this.cache && PredictionCache.key(req.inputs, outputNames);
      const cached = key === undefined ? undefined : await this.cache!.lookup(key);
      const deadline = Math.min(req.deadline ?? Infinity, Date.now() + this.options.timeoutMs);
      const outputs = cached ?? (await this.scheduler!.submit(req.inputs, outputNames, deadline));
      if (key !== undefined && !cached) this.cache!.store(key, outputs);
      const res: InferResponse = { modelName: this.name, modelVersion: this.version, outputs };
      if (req.id !== undefined) res.id = req.id;
      return res;
    });
  }

  /** A custom model's own V1 semantics (KServe's `predict(payload)`). */
  predictV1(body: unknown): Promise<unknown> {
    return this.track((model) => model.predictV1!(body));
  }

  /** Waits for in-flight requests (bounded), then releases the runtime model. */
  async close(): Promise<void> {
    const model = this.model;
    this.autoscaler?.close();
    this.state = 'Pending';
    if (this.inflight > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, DRAIN_TIMEOUT_MS);
        this.drained = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    delete this.model;
    await model?.unload();
  }
}

/**
 * The signature a V2 request names in `parameters.signature_name` (TensorFlow), when it
 * is not the model's default one; undefined for the default path.
 */
function namedSignature(req: InferRequest, model: LoadedModel, modelName: string): string | undefined {
  const name = req.parameters?.signature_name;
  if (name === undefined) return undefined;
  const field = 'parameters.signature_name';
  if (typeof name !== 'string') throw invalidInput(`${field} must be a string`, field);
  if (!model.signatures || !model.inferSignature) throw invalidInput(`${field}: model ${modelName} has no named signatures`, field);
  const sig = model.signatures[name];
  if (!sig) throw invalidInput(`${field}: unknown signature "${name}"; the model serves ${Object.keys(model.signatures).map((n) => `"${n}"`).join(', ')}`, field);
  const isDefault = JSON.stringify(sig.inputs) === JSON.stringify(model.inputs) && JSON.stringify(sig.outputs) === JSON.stringify(model.outputs);
  return isDefault ? undefined : name;
}
