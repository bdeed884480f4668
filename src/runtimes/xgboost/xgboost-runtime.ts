import { readFile, stat } from 'node:fs/promises';
import { InferdError } from '../../api/errors.js';
import { findModelFile } from '../../storage/model-file.js';
import { parseRuntimeArgs } from '../runtime-args.js';
import { CompiledForest, ForestError } from '../trees/forest.js';
import { TreeModel } from '../trees/tree-model.js';
import type { LoadContext, Runtime } from '../types.js';
import { parseXgboostModel, XgbFormatError, type XgbModel } from './xgboost-model.js';
import { CLASSIC_INLINE_BELOW_MICROS } from '../classic-isolation.js';
import { DecodeBudget } from '../decode-budget.js';

/** How an objective maps margins to predictions, and base_score to a margin (ProbToMargin). */
interface ObjectiveRule {
  baseToMargin: 'identity' | 'logit' | 'log';
  transform: 'identity' | 'sigmoid' | 'exp' | 'softprob' | 'softmax' | 'hinge';
}

const OBJECTIVES: Record<string, ObjectiveRule> = {
  'reg:squarederror': { baseToMargin: 'identity', transform: 'identity' },
  'reg:linear': { baseToMargin: 'identity', transform: 'identity' },
  'reg:squaredlogerror': { baseToMargin: 'identity', transform: 'identity' },
  'reg:pseudohubererror': { baseToMargin: 'identity', transform: 'identity' },
  'reg:absoluteerror': { baseToMargin: 'identity', transform: 'identity' },
  'reg:quantileerror': { baseToMargin: 'identity', transform: 'identity' },
  'reg:logistic': { baseToMargin: 'logit', transform: 'sigmoid' },
  'binary:logistic': { baseToMargin: 'logit', transform: 'sigmoid' },
  'binary:logitraw': { baseToMargin: 'identity', transform: 'identity' },
  'binary:hinge': { baseToMargin: 'identity', transform: 'hinge' },
  'count:poisson': { baseToMargin: 'log', transform: 'exp' },
  'reg:gamma': { baseToMargin: 'log', transform: 'exp' },
  'reg:tweedie': { baseToMargin: 'log', transform: 'exp' },
  'multi:softprob': { baseToMargin: 'identity', transform: 'softprob' },
  'multi:softmax': { baseToMargin: 'identity', transform: 'softmax' },
  'rank:pairwise': { baseToMargin: 'identity', transform: 'identity' },
  'rank:ndcg': { baseToMargin: 'identity', transform: 'identity' },
  'rank:map': { baseToMargin: 'identity', transform: 'identity' },
};

export const xgboostRuntime: Runtime = {
  name: 'inferd-xgboost',
  formats: ['xgboost'],
  // Loaded and probed in a worker first (see model-loader): only a model whose one-row call
  // takes under CLASSIC_INLINE_BELOW_MICROS moves to the main thread; a slow one (a tree bomb)
  // keeps its worker, so it never blocks the event loop.
  isolation: 'worker',
  inlineBelowMicros: CLASSIC_INLINE_BELOW_MICROS,
  boundedHeap: true,
  async load(ctx: LoadContext) {
    const file = await findModelFile(ctx.path, { names: ['model.bst', 'model.json', 'model.ubj'], extensions: ['.json', '.ubj', '.bst'] });
    const size = (await stat(file)).size;
    const budget = new DecodeBudget(ctx.maxDecodedBytes);
    // The file and the text or JSON values parsed from it, before the read allocates them.
    budget.charge(2 * size, 'file');
    const bytes = await readFile(file);
    const model = buildXgboost(bytes, ctx.args, file, budget);
    ctx.log.info({ model: ctx.name, trees: model.trees, layout: model.layout, objective: model.objective }, 'XGBoost model compiled');
    return model.loaded(size);
  },
};

export interface BuiltXgboost {
  objective: string;
  trees: number;
  layout: string;
  loaded(fileBytes: number): TreeModel;
  predict(X: Float32Array, n: number): Float32Array;
}

/** Parses and compiles an XGBoost model; exported for tests and the bench. */
export function buildXgboost(bytes: Uint8Array, args: readonly string[], file = 'model', budget = new DecodeBudget()): BuiltXgboost {
  const flags = parseRuntimeArgs(args);
  const outputMargin = boolFlag(flags, 'output_margin');
  const useBest = boolFlag(flags, 'use_best_iteration');
  const rangeArg = flags.get('iteration_range');
  const layoutArg = flags.get('tree_layout');
  if (layoutArg !== undefined && layoutArg !== 'dense' && layoutArg !== 'general') {
    throw new InferdError('invalid_input', `--tree_layout must be dense or general, got "${layoutArg}"`);
  }
  let model: XgbModel;
  try {
    model = parseXgboostModel(bytes);
  } catch (err) {
    if (err instanceof XgbFormatError) {
      throw new InferdError('invalid_input', `cannot load XGBoost model ${file}: ${err.message}`, { cause: err });
    }
    throw err;
  }
  const rule = OBJECTIVES[model.objective];
  if (!rule) {
    throw new InferdError('invalid_input', `XGBoost objective "${model.objective.slice(0, 60)}" is not supported (supported: ${Object.keys(OBJECTIVES).join(', ')})`);
  }
  const K = model.numGroups;
  const multi = rule.transform === 'softprob' || rule.transform === 'softmax';
  if (multi && K < 2) throw new InferdError('invalid_input', `XGBoost model ${file}: ${model.objective} needs num_class ≥ 2`);
  if (!multi && K !== 1) throw new InferdError('invalid_input', `XGBoost model ${file}: ${model.objective} with num_class ${K} is not supported`);

  // Iteration range: all trees (as Booster.predict), best_iteration, or begin:end.
  const iters = model.iterationPtr.length - 1;
  let begin = 0;
  let end = Math.max(0, iters);
  if (useBest) {
    if (model.bestIteration === undefined) throw new InferdError('invalid_input', `--use_best_iteration: model ${file} has no best_iteration`);
    end = Math.min(end, model.bestIteration + 1);
  }
  if (rangeArg !== undefined) {
    const m = /^(\d+):(\d+)$/.exec(rangeArg);
    if (!m) throw new InferdError('invalid_input', `--iteration_range must be begin:end (end 0 = all), got "${rangeArg}"`);
    begin = Number(m[1]);
    const e = Number(m[2]);
    if (e !== 0) end = Math.min(end, e);
    if (begin > end) throw new InferdError('invalid_input', `--iteration_range ${rangeArg} is empty for a model with ${iters} iterations`);
  }
  const trees = iters > 0 ? model.trees.slice(model.iterationPtr[begin]!, model.iterationPtr[end]!) : [];

  let forest: CompiledForest;
  try {
    forest = new CompiledForest(trees, { nFeatures: model.numFeature, nGroups: K, precision: 'f32', what: `XGBoost model ${file}`, budget,
      ...(layoutArg === undefined ? {} : { layout: layoutArg }) });
  } catch (err) {
    if (err instanceof ForestError) throw new InferdError('invalid_input', err.message, { cause: err });
    throw err;
  }

  const base = new Float32Array(K);
  for (let k = 0; k < K; k++) {
    const b = model.baseScore[Math.min(k, model.baseScore.length - 1)] ?? 0.5;
    base[k] = baseMargin(b, rule, model.objective);
  }
  const transform = outputMargin ? 'identity' : rule.transform;
  const width = transform === 'softmax' || K === 1 ? 1 : K;

  const predict = (X: Float32Array, n: number): Float32Array => {
    const margin = new Float32Array(n * K);
    if (K === 1) margin.fill(base[0]!);
    else for (let r = 0; r < n; r++) margin.set(base, r * K);
    forest.accumulate(X, 0, n, margin);
    return applyTransform(transform, margin, n, K);
  };
  return {
    objective: model.objective,
    trees: trees.length,
    layout: forest.layout,
    predict,
    loaded: (fileBytes) => new TreeModel({
      platform: 'xgboost', precision: 'f32', nFeatures: model.numFeature, width, predict,
      bytes: Math.max(forest.bytes, fileBytes),
    }),
  };
}

function boolFlag(flags: Map<string, string>, key: string): boolean {
  const v = flags.get(key);
  if (v === undefined) return false;
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new InferdError('invalid_input', `runtime arg --${key} must be true or false, got "${v}"`);
}

/** ProbToMargin in float32, as XGBoost computes it when it loads the model. */
function baseMargin(b: number, rule: ObjectiveRule, objective: string): number {
  const f = Math.fround;
  switch (rule.baseToMargin) {
    case 'identity': return f(b);
    case 'logit':
      if (!(b > 0 && b < 1)) throw new InferdError('invalid_input', `base_score must be in (0, 1) for ${objective}, got ${b}`);
      return f(-Math.log(f(f(1 / b) - 1)));
    case 'log':
      if (!(b > 0)) throw new InferdError('invalid_input', `base_score must be positive for ${objective}, got ${b}`);
      return f(Math.log(b));
  }
}

/** PredTransform in float32 (expf, 1/(1+expf(-x)), softmax with a double sum). */
function applyTransform(t: ObjectiveRule['transform'], m: Float32Array, n: number, K: number): Float32Array {
  const f = Math.fround;
  switch (t) {
    case 'identity':
      return m;
    case 'sigmoid':
      for (let i = 0; i < m.length; i++) m[i] = f(1 / f(1 + f(Math.exp(-m[i]!))));
      return m;
    case 'exp':
      for (let i = 0; i < m.length; i++) m[i] = Math.exp(m[i]!);
      return m;
    case 'hinge':
      for (let i = 0; i < m.length; i++) m[i] = m[i]! > 0 ? 1 : 0;
      return m;
    case 'softprob':
      for (let r = 0; r < n; r++) {
        const o = r * K;
        let max = m[o]!;
        for (let k = 1; k < K; k++) if (m[o + k]! > max) max = m[o + k]!;
        let sum = 0;
        for (let k = 0; k < K; k++) {
          const e = f(Math.exp(f(m[o + k]! - max)));
          m[o + k] = e;
          sum += e;
        }
        const s = f(sum);
        for (let k = 0; k < K; k++) m[o + k] = m[o + k]! / s;
      }
      return m;
    case 'softmax': {
      const out = new Float32Array(n);
      for (let r = 0; r < n; r++) {
        const o = r * K;
        let best = 0;
        let max = m[o]!;
        for (let k = 1; k < K; k++) if (m[o + k]! > max) { max = m[o + k]!; best = k; }
        out[r] = best;
      }
      return out;
    }
  }
}
