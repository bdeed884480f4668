import type { Tensor, TensorSpec } from '../../api/inference.js';
import type { LoadedModel } from '../../runtimes/types.js';

/** What one main-thread call may cost: a batch of more rows than this over the probed one-row cost (an overestimate of the per-row cost) goes to a worker instead. */
export const INLINE_BATCH_MICROS = 2000;

/**
 * A fast model on the main thread whose large batches run in a worker replica: a call's cost
 * grows with its rows, so a batch whose rows × the probed one-row cost could stall the event
 * loop goes to a worker, started on the first such batch (most models never see one, and an
 * idle worker per model would cost memory). Small requests keep the inline speed.
 */
export class BatchSplitModel implements LoadedModel {
  readonly platform: string;
  readonly inputs: TensorSpec[];
  readonly outputs: TensorSpec[];
  readonly onMainThread = true;
  predictV1?: (body: unknown) => Promise<unknown>;
  private worker?: Promise<LoadedModel>;
  private started?: LoadedModel;

  constructor(private readonly inline: LoadedModel, private readonly startWorker: () => Promise<LoadedModel>, readonly maxInlineRows: number) {
    this.platform = inline.platform;
    this.inputs = inline.inputs;
    this.outputs = inline.outputs;
    const v1 = inline.predictV1?.bind(inline);
    if (v1) {
      this.predictV1 = async (body) => {
        if (v1Rows(body) <= this.maxInlineRows) return v1(body);
        const w = await this.offload();
        return w.predictV1 ? w.predictV1(body) : v1(body);
      };
    }
  }

  async infer(inputs: Tensor[], outputNames: string[]): Promise<Tensor[]> {
    const rows = Math.max(0, ...inputs.map((t) => t.shape[0] ?? 0));
    if (rows <= this.maxInlineRows) return this.inline.infer(inputs, outputNames);
    return (await this.offload()).infer(inputs, outputNames);
  }

  private offload(): Promise<LoadedModel> {
    this.worker ??= this.startWorker().then(
      (m) => (this.started = m),
      (err: unknown) => {
        this.worker = undefined;
        throw err;
      },
    );
    return this.worker;
  }

  memoryBytes(): number {
    return this.inline.memoryBytes() + (this.started?.memoryBytes() ?? 0);
  }

  async unload(): Promise<void> {
    const worker = this.worker?.catch(() => undefined);
    await Promise.allSettled([this.inline.unload(), worker?.then((w) => w?.unload())]);
  }
}

/** Rows of a V1 body (`instances` or `inputs`); anything unexpected counts as large. */
function v1Rows(body: unknown): number {
  if (typeof body !== 'object' || body === null) return 0;
  const b = body as { instances?: unknown; inputs?: unknown };
  const rows = b.instances ?? b.inputs;
  return Array.isArray(rows) ? rows.length : Infinity;
}
