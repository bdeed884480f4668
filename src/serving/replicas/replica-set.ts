import type { Tensor, TensorSpec } from '../../api/inference.js';
import type { LoadedModel, ModelSignature } from '../../runtimes/types.js';
import type { WorkerModel } from './worker-model.js';

/** N replicas of one model behind one LoadedModel: each call goes to the least busy replica. */
export class ReplicaSet implements LoadedModel {
  readonly platform: string;
  readonly inputs: TensorSpec[];
  readonly outputs: TensorSpec[];
  readonly predictV1?: (body: unknown) => Promise<unknown>;
  readonly signatures?: Record<string, ModelSignature>;
  readonly inferSignature?: (signature: string, inputs: Tensor[], outputNames: string[]) => Promise<Tensor[]>;
  readonly modelVersion?: string;
  /** The first replica's load-time latency probe (µs), where one was asked for. */
  readonly probeMicros?: number;

  constructor(
    private readonly replicas: WorkerModel[],
    /** Starts one more replica (autoscaling). */
    private readonly start: () => Promise<WorkerModel>,
  ) {
    const first = replicas[0]!;
    this.platform = first.platform;
    this.inputs = first.inputs;
    this.outputs = first.outputs;
    if (first.predictV1) this.predictV1 = (body) => this.pick().predictV1!(body);
    if (first.signatures) {
      this.signatures = first.signatures;
      this.inferSignature = (signature, inputs, outputNames) => this.pick().inferSignature!(signature, inputs, outputNames);
    }
    if (first.modelVersion !== undefined) this.modelVersion = first.modelVersion;
    if (first.probeMicros !== undefined) this.probeMicros = first.probeMicros;
  }

  get size(): number {
    return this.replicas.length;
  }

  /** Adds or removes replicas; a removed replica finishes its in-flight work first. */
  async scaleTo(n: number): Promise<void> {
    while (this.replicas.length < n) this.replicas.push(await this.start());
    while (this.replicas.length > Math.max(1, n)) {
      const idlest = this.replicas.reduce((a, b) => (b.inflight < a.inflight ? b : a));
      this.replicas.splice(this.replicas.indexOf(idlest), 1);
      void idlest.drainAndUnload();
    }
  }

  private pick(): WorkerModel {
    let best = this.replicas[0]!;
    for (const r of this.replicas) if (r.inflight < best.inflight) best = r;
    return best;
  }

  infer(inputs: Tensor[], outputNames: string[]): Promise<Tensor[]> {
    return this.pick().infer(inputs, outputNames);
  }

  memoryBytes(): number {
    return this.replicas.reduce((n, r) => n + r.memoryBytes(), 0);
  }

  async unload(): Promise<void> {
    await Promise.all(this.replicas.map((r) => r.unload()));
  }
}
