/**
 * `inferd-sklearn`: serves scikit-learn models saved with joblib or pickle, read by a
 * pickle VM that never runs code, computed by TypeScript ports of the estimators.
 */
import { InferdError } from '../../api/errors.js';
import type { Tensor, TensorSpec } from '../../api/inference.js';
import { findModelFile } from '../../storage/model-file.js';
import { CLASSIC_INLINE_BELOW_MICROS } from '../classic-isolation.js';
import { DecodeBudget } from '../decode-budget.js';
import type { LoadContext, LoadedModel, Runtime } from '../types.js';
import { buildEstimator } from './build.js';
import type { Block, Estimator } from './estimator.js';
import { fromTensor, fromV1, labelDatatype, labelJson, labelTensorData, rowsJson } from './io.js';
import { numMatrix, type Cell, type Matrix } from './matrix.js';
import { DEFAULT_MAX_BYTES, readModelFile } from './model-reader.js';
import { PyObject } from './py-values.js';

export const MODEL_FILE_RULE = {
  names: ['model.joblib', 'model.pkl', 'model.pickle'],
  extensions: ['.joblib', '.pkl', '.pickle'],
} as const;

export const sklearnRuntime: Runtime = {
  name: 'inferd-sklearn',
  formats: ['sklearn'],
  // Loaded and probed in a worker first (see model-loader): only a model whose one-row call
  // takes under CLASSIC_INLINE_BELOW_MICROS moves to the main thread; a slow one (a tree bomb)
  // keeps its worker, so it never blocks the event loop.
  isolation: 'worker',
  inlineBelowMicros: CLASSIC_INLINE_BELOW_MICROS,
  boundedHeap: true,
  async load(ctx: LoadContext): Promise<LoadedModel> {
    const file = await findModelFile(ctx.path, MODEL_FILE_RULE);
    const maxBytes = positiveInt(ctx.env.SKLEARN_MAX_MODEL_BYTES) ?? DEFAULT_MAX_BYTES;
    const budget = new DecodeBudget(ctx.maxDecodedBytes);
    const read = await readModelFile(file, maxBytes, budget);
    const est = buildEstimator(read.value);
    const version = read.value instanceof PyObject ? read.value.dict.get('_sklearn_version') : undefined;
    const wantProba = /^(true|1|yes)$/i.test(ctx.env.PREDICT_PROBA ?? '');
    if (wantProba && (est.kind !== 'classifier' || !est.predictProba)) {
      throw new InferdError('invalid_input', `PREDICT_PROBA=true but ${est.name} has no predict_proba`);
    }
    ctx.log.info({ model: ctx.name, estimator: est.name, sklearnVersion: version, compression: read.compression }, 'sklearn model loaded');
    return new SklearnModel(est, budget.used, wantProba);
  },
};

function positiveInt(v: string | undefined): number | undefined {
  const n = v === undefined ? NaN : Number(v);
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

/** A zero (or empty) row, to learn the width of decision_function at load. */
function probeRow(est: Estimator): Matrix {
  const n = Math.max(est.nIn, 0);
  if (!est.wantsStrings) return numMatrix(1, n);
  return { kind: 'obj', rows: 1, cols: n, data: new Array<Cell>(n).fill(null) };
}

class SklearnModel implements LoadedModel {
  readonly platform = 'sklearn';
  readonly inputs: TensorSpec[];
  readonly outputs: TensorSpec[];
  private readonly decisionShape: Block | null = null;

  constructor(private readonly est: Estimator, private readonly bytes: number, private readonly wantProba: boolean) {
    this.inputs = [{ name: 'input-0', datatype: est.wantsStrings ? 'BYTES' : 'FP64', shape: [-1, est.nIn] }];
    const outs: TensorSpec[] = [];
    if (est.kind === 'classifier') {
      const k = est.classes.values.length;
      outs.push({ name: 'predict', datatype: labelDatatype(est.classes), shape: [-1] });
      if (est.predictProba) outs.push({ name: 'predict_proba', datatype: 'FP64', shape: [-1, k] });
      if (est.decisionFunction) {
        try {
          this.decisionShape = est.decisionFunction(probeRow(est));
          outs.push({ name: 'decision_function', datatype: 'FP64', shape: this.decisionShape.flat ? [-1] : [-1, this.decisionShape.cols] });
        } catch {
          // Width unknown without real data: the output is not offered.
        }
      }
    } else if (est.kind === 'regressor') {
      outs.push({ name: 'predict', datatype: 'FP64', shape: est.nTargets === 1 ? [-1] : [-1, est.nTargets] });
    } else {
      outs.push({ name: 'transform', datatype: 'FP64', shape: [-1, est.nOut] });
    }
    this.outputs = outs;
  }

  async infer(inputs: Tensor[], outputNames: string[]): Promise<Tensor[]> {
    const input = inputs.find((t) => t.name === 'input-0') ?? inputs[0];
    if (!input) throw new InferdError('invalid_input', 'the request has no input tensor');
    const x = fromTensor(input, this.est.nIn);
    return outputNames.map((name) => this.output(name, x));
  }

  private output(name: string, x: Matrix): Tensor {
    const est = this.est;
    const n = x.rows;
    if (name === 'predict') {
      if (est.kind === 'classifier') {
        return { name, datatype: labelDatatype(est.classes), shape: [n], data: labelTensorData(est.predictIndex(x), est.classes) };
      }
      if (est.kind === 'regressor') {
        return { name, datatype: 'FP64', shape: est.nTargets === 1 ? [n] : [n, est.nTargets], data: est.predict(x) };
      }
    }
    if (name === 'predict_proba' && est.kind === 'classifier' && est.predictProba) {
      return { name, datatype: 'FP64', shape: [n, est.classes.values.length], data: est.predictProba(x) };
    }
    if (name === 'decision_function' && est.kind === 'classifier' && est.decisionFunction) {
      const d = est.decisionFunction(x);
      return { name, datatype: 'FP64', shape: d.flat ? [n] : [n, d.cols], data: d.data };
    }
    if (name === 'transform' && est.kind === 'transformer') {
      const t = est.transform(x);
      if (t.kind !== 'num') throw new InferdError('invalid_input', `${est.name} produces non-numeric output, which the V2 protocol output cannot carry`);
      return { name, datatype: 'FP64', shape: [n, t.cols], data: t.data };
    }
    throw new InferdError('invalid_input', `unknown output "${name}"`);
  }

  /** KServe sklearn server semantics: predictions = predict (or predict_proba with PREDICT_PROBA=true). */
  async predictV1(body: unknown): Promise<unknown> {
    const est = this.est;
    const x = fromV1(body, est.nIn, est.wantsStrings);
    if (est.kind === 'classifier') {
      if (this.wantProba && est.predictProba) {
        return { predictions: rowsJson(est.predictProba(x), est.classes.values.length, false) };
      }
      return { predictions: labelJson(est.predictIndex(x), est.classes) };
    }
    if (est.kind === 'regressor') return { predictions: rowsJson(est.predict(x), est.nTargets, est.nTargets === 1) };
    const t = est.transform(x);
    if (t.kind === 'num') return { predictions: rowsJson(t.data, t.cols, false) };
    const rows: Cell[][] = [];
    for (let r = 0; r < t.rows; r++) rows.push(t.data.slice(r * t.cols, (r + 1) * t.cols));
    return { predictions: rows };
  }

  memoryBytes(): number {
    return this.bytes;
  }

  async unload(): Promise<void> {
    // Plain JS data: released with the object.
  }
}
