import { readFile, stat } from 'node:fs/promises';
import { InferdError } from '../../api/errors.js';
import { findModelFile } from '../../storage/model-file.js';
import { intFlag, parseRuntimeArgs } from '../runtime-args.js';
import { CompiledForest, ForestError } from '../trees/forest.js';
import { TreeModel } from '../trees/tree-model.js';
import type { LoadContext, Runtime } from '../types.js';
import { LgbFormatError, parseLightgbmModel, type LgbModel } from './lightgbm-model.js';
import { CLASSIC_INLINE_BELOW_MICROS } from '../classic-isolation.js';
import { DecodeBudget } from '../decode-budget.js';

/** LightGBM's kZeroThreshold (1e-35f widened to double): smaller magnitudes are read as 0. */
const ZERO_THRESHOLD = Math.fround(1e-35);

type Transform = 'identity' | 'sigmoid' | 'softmax' | 'ova' | 'exp' | 'square' | 'log1pexp';

export const lightgbmRuntime: Runtime = {
  name: 'inferd-lightgbm',
  formats: ['lightgbm'],
  // Loaded and probed in a worker first (see model-loader): only a model whose one-row call
  // takes under CLASSIC_INLINE_BELOW_MICROS moves to the main thread; a slow one (a tree bomb)
  // keeps its worker, so it never blocks the event loop.
  isolation: 'worker',
  inlineBelowMicros: CLASSIC_INLINE_BELOW_MICROS,
  boundedHeap: true,
  async load(ctx: LoadContext) {
    const file = await findModelFile(ctx.path, { names: ['model.txt', 'model.bst'], extensions: ['.txt', '.bst'] });
    const size = (await stat(file)).size;
    const budget = new DecodeBudget(ctx.maxDecodedBytes);
    // The file and the text or JSON values parsed from it, before the read allocates them.
    budget.charge(2 * size, 'file');
    const bytes = await readFile(file);
    const built = buildLightgbm(bytes, ctx.args, file, budget);
    ctx.log.info({ model: ctx.name, trees: built.trees, layout: built.layout, objective: built.objective }, 'LightGBM model compiled');
    return built.loaded(size);
  },
};

export interface BuiltLightgbm {
  objective: string;
  trees: number;
  layout: string;
  loaded(fileBytes: number): TreeModel;
  predict(X: Float64Array, n: number): Float64Array;
}

export function buildLightgbm(bytes: Uint8Array, args: readonly string[], file = 'model', budget = new DecodeBudget()): BuiltLightgbm {
  const flags = parseRuntimeArgs(args);
  const raw = flags.get('raw_score');
  if (raw !== undefined && !['true', 'false', '1', '0'].includes(raw)) throw new InferdError('invalid_input', `--raw_score must be true or false, got "${raw}"`);
  const rawScore = raw === 'true' || raw === '1';
  let numIteration: number | undefined;
  try {
    numIteration = intFlag(flags, 'num_iteration');
  } catch (err) {
    throw new InferdError('invalid_input', (err as Error).message);
  }
  const layoutArg = flags.get('tree_layout');
  if (layoutArg !== undefined && layoutArg !== 'dense' && layoutArg !== 'general') {
    throw new InferdError('invalid_input', `--tree_layout must be dense or general, got "${layoutArg}"`);
  }
  if (bytes.includes(0)) throw new InferdError('invalid_input', `cannot load LightGBM model ${file}: it is a binary file, not LightGBM's text model format`);
  let model: LgbModel;
  try {
    model = parseLightgbmModel(new TextDecoder().decode(bytes));
  } catch (err) {
    if (err instanceof LgbFormatError) throw new InferdError('invalid_input', `cannot load LightGBM model ${file}: ${err.message}`, { cause: err });
    throw err;
  }
  const transform = rawScore ? 'identity' : transformOf(model, file);
  const K = model.treesPerIteration;
  const iterations = model.trees.length / K;
  const used = numIteration !== undefined && numIteration > 0 ? Math.min(numIteration, iterations) : iterations;
  const trees = model.trees.slice(0, used * K);
  let forest: CompiledForest;
  try {
    forest = new CompiledForest(trees, {
      nFeatures: model.numFeature, nGroups: K, precision: 'f64', what: `LightGBM model ${file}`, budget,
      ...(layoutArg === undefined ? {} : { layout: layoutArg }),
    });
  } catch (err) {
    if (err instanceof ForestError) throw new InferdError('invalid_input', err.message, { cause: err });
    throw err;
  }
  const sigmoid = Number(model.objectiveParams.get('sigmoid') ?? '1');
  if (!Number.isFinite(sigmoid)) throw new InferdError('invalid_input', `LightGBM model ${file}: sigmoid parameter is invalid`);
  const average = model.averageOutput && used > 0 ? used : 0;

  const predict = (Xin: Float64Array, n: number): Float64Array => {
    const X = zeroSmall(Xin);
    const out = new Float64Array(n * K);
    forest.accumulate(X, 0, n, out);
    if (average) for (let i = 0; i < out.length; i++) out[i] = out[i]! / average;
    applyTransform(transform, out, n, K, sigmoid);
    return out;
  };
  return {
    objective: model.objective,
    trees: trees.length,
    layout: forest.layout,
    predict,
    loaded: (fileBytes) => new TreeModel({
      platform: 'lightgbm', precision: 'f64', nFeatures: model.numFeature, width: K, predict,
      bytes: Math.max(forest.bytes, fileBytes),
    }),
  };
}

function transformOf(model: LgbModel, file: string): Transform {
  switch (model.objective) {
    case 'regression': case 'regression_l2': case 'l2': case 'mean_squared_error': case 'mse': case 'l2_root': case 'root_mean_squared_error': case 'rmse':
      return model.objectiveParams.has('sqrt') ? 'square' : 'identity';
    case 'regression_l1': case 'l1': case 'mean_absolute_error': case 'mae': case 'huber': case 'fair': case 'quantile': case 'mape':
    case 'mean_absolute_percentage_error': case 'lambdarank': case 'rank_xendcg': case 'xendcg': case 'custom': case 'none':
      return 'identity';
    case 'binary':
      return 'sigmoid';
    case 'multiclass': case 'softmax':
      return 'softmax';
    case 'multiclassova': case 'multiclass_ova': case 'ova': case 'ovr':
      return 'ova';
    case 'poisson': case 'gamma': case 'tweedie':
      return 'exp';
    case 'cross_entropy': case 'xentropy':
      return 'ova';
    case 'cross_entropy_lambda': case 'xentlambda':
      return 'log1pexp';
    default:
      throw new InferdError('invalid_input', `LightGBM model ${file}: objective "${model.objective.slice(0, 60)}" is not supported`);
  }
}

/** LightGBM drops |x| <= kZeroThreshold when it reads a row, so they count as 0. */
function zeroSmall(X: Float64Array): Float64Array {
  let copy: Float64Array | undefined;
  for (let i = 0; i < X.length; i++) {
    const v = X[i]!;
    if (v !== 0 && v <= ZERO_THRESHOLD && v >= -ZERO_THRESHOLD) {
      copy ??= X.slice();
      copy[i] = 0;
    }
  }
  return copy ?? X;
}

function applyTransform(t: Transform, m: Float64Array, n: number, K: number, sigmoid: number): void {
  switch (t) {
    case 'identity':
      return;
    case 'sigmoid':
      for (let i = 0; i < m.length; i++) m[i] = 1 / (1 + Math.exp(-sigmoid * m[i]!));
      return;
    case 'ova':
      // multiclassova uses its sigmoid parameter; cross_entropy has none (1).
      for (let i = 0; i < m.length; i++) m[i] = 1 / (1 + Math.exp(-sigmoid * m[i]!));
      return;
    case 'exp':
      for (let i = 0; i < m.length; i++) m[i] = Math.exp(m[i]!);
      return;
    case 'square':
      for (let i = 0; i < m.length; i++) { const v = m[i]!; m[i] = Math.sign(v) * v * v; }
      return;
    case 'log1pexp':
      for (let i = 0; i < m.length; i++) m[i] = Math.log1p(Math.exp(m[i]!));
      return;
    case 'softmax':
      for (let r = 0; r < n; r++) {
        const o = r * K;
        let max = m[o]!;
        for (let k = 1; k < K; k++) if (m[o + k]! > max) max = m[o + k]!;
        let sum = 0;
        for (let k = 0; k < K; k++) { const e = Math.exp(m[o + k]! - max); m[o + k] = e; sum += e; }
        for (let k = 0; k < K; k++) m[o + k] = m[o + k]! / sum;
      }
  }
}
