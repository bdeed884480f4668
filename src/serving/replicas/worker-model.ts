import { Worker } from 'node:worker_threads';
import { InferdError } from '../../api/errors.js';
import type { Tensor, TensorSpec } from '../../api/inference.js';
import type { LoadedModel, ModelSignature } from '../../runtimes/types.js';
import { takeMovable } from './movable.js';
import { deserializeError, type FromWorker, type ToWorker, type WorkerInit } from './worker-protocol.js';

const ENTRY = new URL('./replica-worker.js', import.meta.url);
/**
 * A worker thread's own cost in the memory accounting: its V8 isolate and the runtime's
 * modules. Measured at 3.9 MB RSS per worker with onnxruntime-node loaded (its native
 * library is shared); twice that leaves room for the worker's heap to grow.
 */
export const WORKER_THREAD_BYTES = 8 * 1024 * 1024;

interface Pending {
  resolve(value: FromWorker & { type: 'result' }): void;
  reject(err: unknown): void;
}

/**
 * One replica: a worker thread holding its own copy of the model, so native
 * runtimes that compute on the calling thread (onnxruntime-node does) never stall
 * the event loop that serves HTTP and gRPC.
 */
export class WorkerModel implements LoadedModel {
  platform = '';
  inputs: TensorSpec[] = [];
  outputs: TensorSpec[] = [];
  predictV1?: (body: unknown) => Promise<unknown>;
  signatures?: Record<string, ModelSignature>;
  inferSignature?: (signature: string, inputs: Tensor[], outputNames: string[]) => Promise<Tensor[]>;
  modelVersion?: string;
  /** The load-time latency probe (µs), when one was asked for and the model is fast. */
  probeMicros?: number;
  private bytes = 0;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private dead?: InferdError;
  private unloaded?: () => void;

  private constructor(private readonly worker: Worker) {}

  static start(init: WorkerInit): Promise<WorkerModel> {
    const limits = init.heapLimitMb === undefined ? {} : { resourceLimits: { maxOldGenerationSizeMb: init.heapLimitMb } };
    const worker = new Worker(ENTRY, { workerData: init, ...limits });
    const model = new WorkerModel(worker);
    return new Promise((resolve, reject) => {
      worker.on('message', (m: FromWorker) => {
        if (m.type === 'ready') {
          Object.assign(model, { platform: m.platform, inputs: m.inputs, outputs: m.outputs, bytes: m.memoryBytes });
          if (m.hasV1) model.predictV1 = (body) => model.call({ type: 'v1', id: 0, body }).then((r) => r.body);
          if (m.modelVersion !== undefined) model.modelVersion = m.modelVersion;
          if (m.probeMicros !== undefined) model.probeMicros = m.probeMicros;
          if (m.signatures) {
            model.signatures = m.signatures;
            model.inferSignature = (signature, inputs, outputNames) => model.call({ type: 'signature', id: 0, signature, inputs, outputNames }).then((r) => r.outputs!);
          }
          resolve(model);
        } else if (m.type === 'load-error') {
          void worker.terminate();
          reject(deserializeError(m.error));
        } else model.onMessage(m);
      });
      worker.on('error', (err) => {
        model.fail(err);
        reject(err);
      });
      worker.on('exit', (code) => model.fail(new Error(`replica worker exited with code ${code}`)));
    });
  }

  private onMessage(m: FromWorker): void {
    if (m.type === 'unloaded') return this.unloaded?.();
    if (m.type !== 'result' && m.type !== 'error') return;
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (m.type === 'result') p.resolve(m);
    else p.reject(deserializeError(m.error));
  }

  private fail(err: Error): void {
    this.dead ??= new InferdError('not_ready', 'model replica stopped; it is being replaced', { retryAfter: 1, cause: err });
    for (const p of this.pending.values()) p.reject(this.dead);
    this.pending.clear();
  }

  private call(msg: ToWorker & { id: number }, transfer: ArrayBuffer[] = []): Promise<FromWorker & { type: 'result' }> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...msg, id }, transfer);
    });
  }

  get inflight(): number {
    return this.pending.size;
  }

  async infer(inputs: Tensor[], outputNames: string[]): Promise<Tensor[]> {
    const r = await this.call({ type: 'infer', id: 0, inputs, outputNames }, takeMovable(inputs));
    return r.outputs!;
  }

  /** The model's own figure plus what a worker thread costs by itself: a fixed sum, the same on every run. */
  memoryBytes(): number {
    return this.bytes + WORKER_THREAD_BYTES;
  }

  /** Waits for in-flight calls (bounded), then unloads: for a replica leaving its set. */
  async drainAndUnload(): Promise<void> {
    for (let i = 0; i < 300 && this.pending.size > 0; i++) await new Promise((r) => setTimeout(r, 100));
    await this.unload();
  }

  async unload(): Promise<void> {
    if (!this.dead) {
      await new Promise<void>((resolve) => {
        this.unloaded = resolve;
        this.worker.postMessage({ type: 'unload' } satisfies ToWorker);
        setTimeout(resolve, 5000).unref();
      });
    }
    await this.worker.terminate();
  }
}
