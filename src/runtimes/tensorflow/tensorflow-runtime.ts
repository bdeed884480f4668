import { performance } from 'node:perf_hooks';
import { InferdError } from '../../api/errors.js';
import type { Tensor, TensorSpec } from '../../api/inference.js';
import { parseRuntimeArgs } from '../runtime-args.js';
import type { LoadContext, LoadedModel, ModelSignature, Runtime } from '../types.js';
import { CompiledSignature } from './compiled-signature.js';
import { resolveModelDir } from './model-dir.js';
import { loadSavedModel, loadTfjsModel, type LoadedGraphs, type SignaturePlan } from './saved-model.js';
import { predictTfServing } from './tf-serving-rest.js';
import { BACKENDS, backendInfo, useBackend, type BackendName } from './tfjs-engine.js';

export const DEFAULT_SIGNATURE = 'serving_default';

/** The backend this thread settled on (TF.js has one active backend per realm). */
let threadBackend: BackendName | undefined;

export const tensorflowRuntime: Runtime = {
  name: 'inferd-tensorflow',
  formats: ['tensorflow', 'tfjs'],
  // TF.js's cpu and wasm kernels compute synchronously on the calling thread.
  isolation: 'worker',
  async load(ctx) {
    const flags = parseRuntimeArgs(ctx.args);
    const wantBackend = flags.get('backend') ?? 'auto';
    if (wantBackend !== 'auto' && !(BACKENDS as readonly string[]).includes(wantBackend)) {
      throw new InferdError('invalid_input', `--backend must be auto, wasm or cpu, got "${wantBackend}"`);
    }
    const tags = (flags.get('tags') ?? flags.get('saved_model_tags') ?? 'serve').split(',').map((t) => t.trim()).filter(Boolean);
    const located = await resolveModelDir(ctx.path, flags.get('model_version'));
    const graphs = located.kind === 'savedmodel' ? await loadSavedModel(located.dir, tags) : await loadTfjsModel(located.dir);
    const defaultName = flags.get('signature_name') ?? (graphs.plans.length === 1 && !graphs.refused.size ? graphs.plans[0]!.name : DEFAULT_SIGNATURE);
    const refusedDefault = graphs.refused.get(defaultName);
    if (refusedDefault) throw new InferdError('invalid_input', refusedDefault);
    const defaultPlan = graphs.plans.find((p) => p.name === defaultName);
    if (!defaultPlan) {
      throw new InferdError('invalid_input', `the model has no signature "${defaultName}"; it has ${[...graphs.plans.map((p) => p.name), ...graphs.refused.keys()].map((n) => `"${n}"`).join(', ') || 'none'} (set --signature_name)`);
    }
    const backend = await chooseBackend(wantBackend as BackendName | 'auto', defaultPlan, ctx);
    const signatures = new Map<string, CompiledSignature>();
    const main = await CompiledSignature.compile(defaultPlan);
    await main.warmUp();
    signatures.set(defaultName, main);
    const refused = new Map(graphs.refused);
    for (const plan of graphs.plans) {
      if (plan.name === defaultName) continue;
      try {
        const s = await CompiledSignature.compile(plan);
        await s.warmUp();
        signatures.set(plan.name, s);
      } catch (err) {
        refused.set(plan.name, InferdError.is(err) ? err.message : String(err));
      }
    }
    for (const [name, why] of refused) ctx.log.warn({ model: ctx.name, signature: name }, `signature not served: ${why}`);
    const info = await backendInfo();
    ctx.log.info({ model: ctx.name, backend, simd: info.simd, version: located.version, signatures: [...signatures.keys()] }, 'TensorFlow model loaded');
    return new TensorflowModel(graphs, signatures, refused, defaultName, located.kind, located.version);
  },
};

async function chooseBackend(want: BackendName | 'auto', plan: SignaturePlan, ctx: LoadContext): Promise<BackendName> {
  if (want !== 'auto') {
    if (!(await useBackend(want))) throw new InferdError('invalid_input', `TF.js backend ${want} cannot start on this machine`);
    threadBackend = want;
    return want;
  }
  if (threadBackend) {
    await useBackend(threadBackend);
    return threadBackend;
  }
  const timings: Array<{ name: BackendName; ms: number }> = [];
  let lastError: unknown;
  for (const name of BACKENDS) {
    if (!(await useBackend(name))) continue;
    let s: CompiledSignature | undefined;
    try {
      s = await CompiledSignature.compile(plan);
      await s.warmUp(1);
      const batched = s.inputs.some((i) => i.shape[0] === -1);
      const t0 = performance.now();
      for (let i = 0; i < 5; i++) await s.warmUp(1);
      if (batched) for (let i = 0; i < 3; i++) await s.warmUp(32);
      timings.push({ name, ms: performance.now() - t0 });
    } catch (err) {
      lastError = err;
    } finally {
      s?.dispose();
    }
  }
  const best = timings.sort((a, b) => a.ms - b.ms)[0];
  if (!best) throw lastError instanceof Error ? lastError : new InferdError('invalid_input', 'no TF.js backend can run this model');
  ctx.log.info({ model: ctx.name, timings: timings.map((t) => `${t.name}=${t.ms.toFixed(1)}ms`) }, `TF.js backend ${best.name} chosen by measurement`);
  await useBackend(best.name);
  threadBackend = best.name;
  return best.name;
}

export class TensorflowModel implements LoadedModel {
  readonly platform: string;
  readonly inputs: TensorSpec[];
  readonly outputs: TensorSpec[];
  readonly signatures: Record<string, ModelSignature>;
  readonly modelVersion?: string;

  constructor(
    readonly graphs: LoadedGraphs,
    readonly compiled: Map<string, CompiledSignature>,
    readonly refused: Map<string, string>,
    readonly defaultSignature: string,
    kind: 'savedmodel' | 'tfjs',
    version: string | undefined,
  ) {
    this.platform = kind === 'savedmodel' ? 'tensorflow_savedmodel' : 'tensorflow_graphdef_tfjs';
    if (version !== undefined) this.modelVersion = version;
    this.signatures = Object.fromEntries([...compiled].map(([n, s]) => [n, { inputs: s.inputs, outputs: s.outputs }]));
    const main = compiled.get(defaultSignature)!;
    this.inputs = main.inputs;
    this.outputs = main.outputs;
  }

  /** A served signature, or a clear error naming the ones there are. */
  signature(name: string | undefined): CompiledSignature {
    const n = name ?? this.defaultSignature;
    const s = this.compiled.get(n);
    if (s) return s;
    const why = this.refused.get(n);
    if (why) throw new InferdError('invalid_input', `signature "${n}" cannot be served: ${why}`, { field: 'signature_name' });
    throw new InferdError('invalid_input', `unknown signature_name "${n}"; the model serves ${[...this.compiled.keys()].map((k) => `"${k}"`).join(', ')}`, { field: 'signature_name' });
  }

  infer(inputs: Tensor[], outputNames: string[]): Promise<Tensor[]> {
    return this.signature(undefined).run(inputs, outputNames);
  }

  inferSignature(signature: string, inputs: Tensor[], outputNames: string[]): Promise<Tensor[]> {
    return this.signature(signature).run(inputs, outputNames);
  }

  predictV1(body: unknown): Promise<unknown> {
    return predictTfServing(this, body);
  }

  memoryBytes(): number {
    let n = 0;
    for (const s of this.compiled.values()) n += s.weightBytes;
    return n;
  }

  async unload(): Promise<void> {
    for (const s of this.compiled.values()) s.dispose();
    this.compiled.clear();
  }
}
