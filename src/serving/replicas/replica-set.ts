import type { Tensor, TensorSpec } from '../../api/inference.js';
import type { LoadedModel } from '../../runtimes/types.js';
import type { WorkerModel } from './worker-model.js';

/** N replicas of one model behind one LoadedModel: each call goes to the least busy replica. */
export class ReplicaSet implements LoadedModel {
  readonly platform: string;
  readonly inputs: TensorSpec[];
  readonly outputs: TensorSpec[];
  readonly predictV1?: (body: unknown) => Promise<unknown>;

  constructor(private readonly replicas: WorkerModel[]) {
    const first = replicas[0]!;
    this.platform = first.platform;
    this.inputs = first.inputs;
    this.outputs = first.outputs;
    if (first.predictV1) this.predictV1 = (body) => this.pick().predictV1!(body);
  }

  get size(): number {
    return this.replicas.length;
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
