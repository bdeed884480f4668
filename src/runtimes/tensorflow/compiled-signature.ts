import { GraphModel } from '@tensorflow/tfjs-converter';
import { InferdError } from '../../api/errors.js';
import type { Tensor, TensorSpec } from '../../api/inference.js';
import type { SigTensor, SignaturePlan } from './saved-model.js';
import { fromTf, toTf, v2Datatype } from './tf-codec.js';
import { tf } from './tfjs-engine.js';

/** One signature compiled into a TF.js GraphModel on the active backend. */
export class CompiledSignature {
  readonly inputs: TensorSpec[];
  readonly outputs: TensorSpec[];
  private useAsync = false;

  private constructor(readonly plan: SignaturePlan, private readonly model: GraphModel, readonly weightBytes: number) {
    this.inputs = plan.inputs.map((t) => spec(plan.name, t, 'input'));
    this.outputs = plan.outputs.map((t) => spec(plan.name, t, 'output'));
  }

  get name(): string {
    return this.plan.name;
  }

  /** Builds the GraphModel; TF.js's op mapper refuses unknown ops here, at load. */
  static async compile(plan: SignaturePlan): Promise<CompiledSignature> {
    for (const t of [...plan.inputs, ...plan.outputs]) spec(plan.name, t, 'tensor');
    const { artifacts, weightBytes } = await plan.build();
    const model = new GraphModel({ load: async () => artifacts });
    try {
      await model.load();
    } catch (err) {
      throw explain(plan.name, err);
    }
    return new CompiledSignature(plan, model, weightBytes);
  }

  /** Runs with zeros (dynamic dimensions set to `batch`) so missing kernels surface at load. */
  async warmUp(batch = 1): Promise<void> {
    const inputs = this.inputs.map((s): Tensor => {
      const shape = s.shape.map((d) => (d < 0 ? batch : d));
      const count = shape.reduce((a, b) => a * b, 1);
      const data = s.datatype === 'BYTES' ? Array.from({ length: count }, () => new Uint8Array(0))
        : s.datatype === 'INT64' ? new BigInt64Array(count) : s.datatype === 'FP64' ? new Float64Array(count)
          : s.datatype === 'FP32' ? new Float32Array(count) : s.datatype === 'BOOL' || s.datatype === 'UINT8' ? new Uint8Array(count) : new Int32Array(count);
      return { name: s.name, datatype: s.datatype, shape, data };
    });
    try {
      await this.run(inputs, this.outputs.map((o) => o.name));
    } catch (err) {
      const cause = InferdError.is(err) && err.cause !== undefined ? err.cause : err;
      throw explain(this.name, cause);
    }
  }

  async run(inputs: Tensor[], outputNames: string[]): Promise<Tensor[]> {
    const feeds: Record<string, tf.Tensor> = {};
    const created: tf.Tensor[] = [];
    let results: tf.Tensor[] = [];
    try {
      for (const t of inputs) {
        const p = this.plan.inputs.find((i) => i.key === t.name);
        if (!p) throw new InferdError('invalid_input', `signature "${this.name}" has no input "${t.name}"; its inputs are ${this.plan.inputs.map((i) => `"${i.key}"`).join(', ')}`, { field: 'inputs' });
        const x = toTf(t, p.tfDtype);
        created.push(x);
        feeds[p.graphName] = x;
      }
      const fetch = outputNames.map((n) => {
        const p = this.plan.outputs.find((o) => o.key === n);
        if (!p) throw new InferdError('invalid_input', `signature "${this.name}" has no output "${n}"; its outputs are ${this.plan.outputs.map((o) => `"${o.key}"`).join(', ')}`, { field: 'outputs' });
        return p;
      });
      const names = fetch.map((p) => p.graphName);
      results = await this.execute(feeds, names);
      const out: Tensor[] = [];
      for (let i = 0; i < fetch.length; i++) out.push(await fromTf(fetch[i]!.key, results[i]!, fetch[i]!.tfDtype));
      return out;
    } catch (err) {
      if (InferdError.is(err)) throw err;
      throw new InferdError('invalid_input', `signature "${this.name}": ${(err as Error).message}`, { cause: err });
    } finally {
      for (const t of created) t.dispose();
      for (const t of results) if (!created.includes(t)) t.dispose();
    }
  }

  private async execute(feeds: Record<string, tf.Tensor>, names: string[]): Promise<tf.Tensor[]> {
    const asArray = (r: tf.Tensor | tf.Tensor[]) => (Array.isArray(r) ? r : [r]);
    if (!this.useAsync) {
      try {
        return asArray(this.model.execute(feeds, names));
      } catch (err) {
        if (!/executeAsync/.test((err as Error).message)) throw err;
        this.useAsync = true;
      }
    }
    return asArray(await this.model.executeAsync(feeds, names));
  }

  dispose(): void {
    this.model.dispose();
  }
}

function spec(sig: string, t: SigTensor, kind: string): TensorSpec {
  const datatype = v2Datatype(t.tfDtype);
  if (!datatype) throw new InferdError('invalid_input', `signature "${sig}": ${kind} "${t.key}" has dtype ${t.tfDtype}, which inferd cannot serve`);
  return { name: t.key, datatype, shape: t.shape ?? [] };
}

/** TF.js load errors, reworded to name the op and the signature. */
export function explain(sig: string, err: unknown): InferdError {
  if (InferdError.is(err)) return err;
  const text = err instanceof Error ? err.message : String(err);
  const op = /Op is not supported: (\S+)/.exec(text)?.[1] ?? /Unknown op '(\w+)'/.exec(text)?.[1] ?? /Kernel '(\w+)' not registered/.exec(text)?.[1];
  if (op) return new InferdError('invalid_input', `signature "${sig}" uses op ${op}, which TensorFlow.js cannot run; convert the model to ONNX or remove the op from the serving graph`, { cause: err });
  return new InferdError('invalid_input', `signature "${sig}" cannot be loaded by TensorFlow.js: ${text.slice(0, 400)}`, { cause: err });
}
