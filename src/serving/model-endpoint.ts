import { InferdError } from '../api/errors.js';
import type { InferRequest, InferResponse, ModelMetadata } from '../api/inference.js';
import type { LoadedModel } from '../runtimes/types.js';
import { validateRequest } from './validate-request.js';

export type ModelState = 'Pending' | 'Loading' | 'Loaded' | 'FailedToLoad';

export interface LoadFailure {
  reason: string;
  message: string;
}

/**
 * One served model: its lifecycle state and the path from a decoded request to
 * its runtime. Protocol adapters call `infer`; they never touch the runtime.
 */
export class ModelEndpoint {
  state: ModelState = 'Pending';
  failure?: LoadFailure;
  private model?: LoadedModel;

  constructor(
    readonly namespace: string,
    readonly name: string,
    readonly version: string,
  ) {}

  get ready(): boolean {
    return this.state === 'Loaded';
  }

  /** The runtime model for protocol-specific paths (custom V1), only when ready. */
  get loaded(): LoadedModel {
    if (!this.model || this.state !== 'Loaded') {
      throw new InferdError('not_ready', `Model with name ${this.name} is not ready.`, { retryAfter: 1 });
    }
    return this.model;
  }

  setLoading(): void {
    this.state = 'Loading';
    delete this.failure;
  }

  setLoaded(model: LoadedModel): void {
    this.model = model;
    this.state = 'Loaded';
    delete this.failure;
  }

  setFailed(failure: LoadFailure): void {
    this.state = 'FailedToLoad';
    this.failure = failure;
  }

  metadata(): ModelMetadata {
    const m = this.model;
    return {
      name: this.name,
      versions: [this.version],
      platform: m?.platform ?? '',
      inputs: m ? m.inputs : [],
      outputs: m ? m.outputs : [],
    };
  }

  async infer(req: InferRequest): Promise<InferResponse> {
    const model = this.loaded;
    const outputNames = validateRequest(req, model);
    if (req.deadline !== undefined && Date.now() > req.deadline) {
      throw new InferdError('timeout', `deadline passed before model ${this.name} ran`);
    }
    const outputs = await model.infer(req.inputs, outputNames);
    const res: InferResponse = { modelName: this.name, modelVersion: this.version, outputs };
    if (req.id !== undefined) res.id = req.id;
    return res;
  }

  /** Detaches and releases the runtime model. */
  async close(): Promise<void> {
    const model = this.model;
    delete this.model;
    this.state = 'Pending';
    await model?.unload();
  }
}
