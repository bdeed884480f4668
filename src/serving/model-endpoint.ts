import { InferdError } from '../api/errors.js';
import type { InferRequest, InferResponse, ModelMetadata } from '../api/inference.js';
import type { LoadedModel } from '../runtimes/types.js';
import { PredictionCache, type CacheOptions } from './prediction-cache.js';
import { InferScheduler, type SchedulerOptions, type SchedulerStats } from './scheduler.js';
import { validateRequest } from './validate-request.js';

export type ModelState = 'Pending' | 'Loading' | 'Loaded' | 'FailedToLoad';

export interface LoadFailure {
  reason: string;
  message: string;
}

export interface EndpointOptions {
  scheduler: SchedulerOptions;
  /** Opt-in prediction cache (annotation `inferd.dev/prediction-cache: "true"`). */
  cache?: CacheOptions;
  /** Default deadline of a request, from the predictor's `timeout` or the server config. */
  timeoutMs: number;
}

const DEFAULT_OPTIONS: EndpointOptions = { scheduler: { maxQueue: 256, concurrency: 2 }, timeoutMs: 60_000 };

/** How long `close()` waits for in-flight requests before unloading anyway. */
const DRAIN_TIMEOUT_MS = 30_000;

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
  private readonly cache?: PredictionCache;
  private inflight = 0;
  private drained?: () => void;

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

  get ready(): boolean {
    return this.state === 'Loaded';
  }

  private get loaded(): LoadedModel {
    if (!this.model || this.state !== 'Loaded') {
      throw new InferdError('not_ready', `Model with name ${this.name} is not ready.`, { retryAfter: 1 });
    }
    return this.model;
  }

  /** The model's signature, for protocols that map their own formats onto it (V1). */
  get signature(): Pick<LoadedModel, 'inputs' | 'outputs'> {
    return this.loaded;
  }

  /** Where to forward requests when an external process serves this model. */
  get proxy(): { baseUrl: string } | undefined {
    return this.loaded.proxy;
  }

  get hasOwnV1(): boolean {
    return typeof this.loaded.predictV1 === 'function';
  }

  setLoading(): void {
    this.state = 'Loading';
    delete this.failure;
  }

  setLoaded(model: LoadedModel): void {
    this.model = model;
    this.scheduler = new InferScheduler(model, this.options.scheduler);
    this.state = 'Loaded';
    delete this.failure;
  }

  setFailed(failure: LoadFailure): void {
    this.state = 'FailedToLoad';
    this.failure = failure;
  }

  stats(): Partial<SchedulerStats & ReturnType<PredictionCache['stats']>> {
    return { ...this.scheduler?.stats(), ...this.cache?.stats() };
  }

  memoryBytes(): number {
    return this.model?.memoryBytes() ?? 0;
  }

  metadata(): ModelMetadata {
    const m = this.model;
    return { name: this.name, versions: [this.version], platform: m?.platform ?? '', inputs: m ? m.inputs : [], outputs: m ? m.outputs : [] };
  }

  private async track<T>(fn: (model: LoadedModel) => Promise<T>): Promise<T> {
    const model = this.loaded;
    this.inflight++;
    try {
      return await fn(model);
    } finally {
      if (--this.inflight === 0) this.drained?.();
    }
  }

  infer(req: InferRequest): Promise<InferResponse> {
    return this.track(async (model) => {
      const outputNames = validateRequest(req, model);
      const key = this.cache && PredictionCache.key(req.inputs, outputNames);
      const cached = key === undefined ? undefined : this.cache!.get(key);
      const deadline = Math.min(req.deadline ?? Infinity, Date.now() + this.options.timeoutMs);
      const outputs = cached ?? (await this.scheduler!.submit(req.inputs, outputNames, deadline));
      if (key !== undefined && !cached) this.cache!.set(key, outputs);
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
