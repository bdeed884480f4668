import { readdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { InferdError } from '../../api/errors.js';
import type { Tensor, TensorSpec } from '../../api/inference.js';
import type { TensorData } from '../../api/datatype.js';
import { findModelFile } from '../../storage/model-file.js';
import { parseRuntimeArgs, intFlag } from '../runtime-args.js';
import type { LoadContext, LoadedModel, Runtime } from '../types.js';
import { ortType, v2Datatype } from './onnx-types.js';

const GRAPH_LEVELS = ['disabled', 'basic', 'extended', 'all'] as const;
type GraphLevel = (typeof GRAPH_LEVELS)[number];

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

export const onnxRuntime: Runtime = {
  name: 'inferd-onnx',
  formats: ['onnx'],
  // onnxruntime-node runs session.run synchronously on the calling thread, so replicas
  // are worker threads, except for models so small that the thread hop costs more than
  // they do (a 4→8→3 MLP: ~15 µs in-process, 1.4-1.7× the requests/s inline).
  isolation: 'worker',
  inlineBelowMicros: 100,
  explicitIntraOp: (ctx) => ownIntraOp(ctx) !== undefined,
  async load(ctx) {
    const file = await findModelFile(ctx.path, { names: ['model.onnx'], extensions: ['.onnx'] });
    const options = sessionOptions(ctx);
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(file, options);
    } catch (err) {
      if (options.executionProviders?.[0] === 'cuda') {
        ctx.log.warn({ model: ctx.name }, 'CUDA execution provider unavailable, using CPU');
        session = await createOrExplain(file, { ...options, executionProviders: ['cpu'] });
      } else {
        throw explainLoadError(err);
      }
    }
    return new OnnxModel(session, await weightBytes(file));
  },
};

async function createOrExplain(file: string, options: ort.InferenceSession.SessionOptions): Promise<ort.InferenceSession> {
  try {
    return await ort.InferenceSession.create(file, options);
  } catch (err) {
    throw explainLoadError(err);
  }
}

function explainLoadError(err: unknown): InferdError {
  const text = err instanceof Error ? err.message : String(err);
  return new InferdError('invalid_input', `ONNX Runtime could not load the model: ${text.slice(0, 500)}`, { cause: err });
}

function ownIntraOp(ctx: LoadContext): number | undefined {
  return intFlag(parseRuntimeArgs(ctx.args), 'intra_op_threads') ?? numberEnv(ctx.env.ORT_INTRA_OP_NUM_THREADS);
}

function sessionOptions(ctx: LoadContext): ort.InferenceSession.SessionOptions {
  const flags = parseRuntimeArgs(ctx.args);
  const env = ctx.env;
  const intra = ownIntraOp(ctx) ?? ctx.threads.intraOp;
  const inter = intFlag(flags, 'inter_op_threads') ?? numberEnv(env.ORT_INTER_OP_NUM_THREADS) ?? ctx.threads.interOp;
  const level = flags.get('graph_optimization_level') ?? 'all';
  if (!(GRAPH_LEVELS as readonly string[]).includes(level)) {
    throw new InferdError('invalid_input', `--graph_optimization_level must be one of ${GRAPH_LEVELS.join(', ')}`);
  }
  const provider = flags.get('execution_provider') ?? 'cpu';
  if (provider !== 'cpu' && provider !== 'cuda') {
    throw new InferdError('invalid_input', `--execution_provider must be cpu or cuda, got "${provider}"`);
  }
  return {
    intraOpNumThreads: intra,
    interOpNumThreads: inter,
    graphOptimizationLevel: level as GraphLevel,
    executionProviders: [provider],
    // Spinning worker threads steal the core the event loop needs on small machines.
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  };
}

function numberEnv(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  return Number.isInteger(n) && n >= 0 ? n : undefined;
}

function specsOf(metadata: readonly ort.InferenceSession.ValueMetadata[], kind: string): TensorSpec[] {
  return metadata.map((m) => {
    if (!m.isTensor) throw new InferdError('invalid_input', `${kind} "${m.name}" is not a tensor; inferd serves tensor models only`);
    const datatype = v2Datatype(m.type);
    if (!datatype) throw new InferdError('invalid_input', `${kind} "${m.name}" has ONNX type ${m.type}, which the V2 protocol cannot carry`);
    return { name: m.name, datatype, shape: m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1)) };
  });
}

class OnnxModel implements LoadedModel {
  readonly platform = 'onnxruntime_onnx';
  readonly inputs: TensorSpec[];
  readonly outputs: TensorSpec[];

  constructor(private readonly session: ort.InferenceSession, private readonly bytes: number) {
    this.inputs = specsOf(session.inputMetadata, 'input');
    this.outputs = specsOf(session.outputMetadata, 'output');
  }

  async infer(inputs: Tensor[], outputNames: string[]): Promise<Tensor[]> {
    const feeds: Record<string, ort.Tensor> = {};
    for (const t of inputs) feeds[t.name] = toOrt(t);
    const results = await this.session.run(feeds, outputNames);
    return outputNames.map((name) => {
      const out = results[name]!;
      const datatype = v2Datatype(out.type)!;
      const data = out.type === 'string' ? (out.data as string[]).map((s) => utf8.encode(s)) : (out.data as TensorData);
      return { name, datatype, shape: out.dims.slice(), data };
    });
  }

  memoryBytes(): number {
    return this.bytes;
  }

  async unload(): Promise<void> {
    await this.session.release();
  }
}

function toOrt(t: Tensor): ort.Tensor {
  if (t.datatype === 'BYTES') {
    return new ort.Tensor('string', (t.data as Uint8Array[]).map((b) => fromUtf8.decode(b)), t.shape);
  }
  return new ort.Tensor(ortType(t.datatype) as 'float32', t.data as Float32Array, t.shape);
}

/**
 * What an ONNX model is accounted as: its file plus external-data files beside it (the
 * weights onnxruntime holds). A fixed function of the files, so the memory budget's eviction
 * decisions are the same on every run; an RSS delta measured around the load was not
 * (545 B to 15.5 MiB for one model, depending on what the allocator had kept).
 */
async function weightBytes(file: string): Promise<number> {
  let total = (await stat(file)).size;
  const dir = dirname(file);
  for (const name of await readdir(dir)) {
    if (/\.(onnx\.data|onnx_data|data)$/.test(name)) total += (await stat(join(dir, name))).size;
  }
  return total;
}
