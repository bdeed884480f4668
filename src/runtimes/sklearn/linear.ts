/** Linear models: regression, logistic regression, SGD, linear SVMs, ridge classifier. */
import type { Block, Classifier, Regressor } from './estimator.js';
import { argmax, asNum, checkWidth, expit, normalizeRows, softmaxRows, type Matrix, type NumMatrix } from './matrix.js';
import { bad, type PyObject } from './py-values.js';
import { arr, floats, labels, num, optStr, type Labels } from './state.js';

interface Weights {
  coef: Float64Array;
  /** Rows of coef_ (targets or one-vs-rest classes). */
  k: number;
  nf: number;
  intercept: Float64Array;
}

function weights(o: PyObject): Weights {
  const c = arr(o, 'coef_');
  if (c.ndim > 2) throw bad(`${o.shortName}.coef_ has ${c.ndim} dimensions`);
  const k = c.ndim === 2 ? c.shape[0]! : 1;
  const nf = c.ndim === 2 ? c.shape[1]! : c.shape[0] ?? 1;
  const intercept = floats(o, 'intercept_');
  if (intercept.length !== k && intercept.length !== 1) throw bad(`${o.shortName}.intercept_ has ${intercept.length} values for ${k} coefficient rows`);
  return { coef: c.numbers(), k, nf, intercept };
}

/** X @ coef_.T + intercept_, as numpy computes it: the dot first, then the intercept. */
function scores(x: NumMatrix, w: Weights): Float64Array {
  const { coef, k, nf, intercept } = w;
  const out = new Float64Array(x.rows * k);
  const d = x.data;
  for (let r = 0; r < x.rows; r++) {
    const xo = r * nf;
    for (let j = 0; j < k; j++) {
      const co = j * nf;
      let s = 0;
      for (let f = 0; f < nf; f++) s += d[xo + f]! * coef[co + f]!;
      out[r * k + j] = s + intercept[intercept.length === 1 ? 0 : j]!;
    }
  }
  return out;
}

export function linearRegressor(o: PyObject): Regressor {
  const w = weights(o);
  const name = o.shortName;
  const nTargets = arr(o, 'coef_').ndim === 2 ? w.k : 1;
  return {
    kind: 'regressor', name, nIn: w.nf, wantsStrings: false, nTargets,
    predict(x: Matrix): Float64Array {
      checkWidth(x, w.nf, name);
      return scores(asNum(x, name), w);
    },
  };
}

type ProbaMode = 'none' | 'ovr' | 'multinomial' | 'modified_huber';

function probaMode(o: PyObject, nClasses: number): ProbaMode {
  const name = o.shortName;
  if (name === 'LogisticRegression') {
    const mc = optStr(o, 'multi_class') ?? 'auto';
    const solver = optStr(o, 'solver') ?? 'lbfgs';
    const ovr = mc === 'ovr' || mc === 'warn' || ((mc === 'auto' || mc === 'deprecated') && (nClasses <= 2 || solver === 'liblinear'));
    return ovr ? 'ovr' : 'multinomial';
  }
  if (name === 'SGDClassifier') {
    const loss = optStr(o, 'loss');
    if (loss === 'log_loss' || loss === 'log') return 'ovr';
    if (loss === 'modified_huber') return 'modified_huber';
  }
  return 'none';
}

export function linearClassifier(o: PyObject): Classifier {
  const w = weights(o);
  const classes: Labels = labels(o);
  const n = classes.values.length;
  const name = o.shortName;
  const binary = w.k === 1;
  if (binary ? n !== 2 : w.k !== n) throw bad(`${name} has ${w.k} coefficient rows for ${n} classes`);
  const mode = probaMode(o, n);
  const decide = (x: Matrix): Float64Array => {
    checkWidth(x, w.nf, name);
    return scores(asNum(x, name), w);
  };
  const model: Classifier = {
    kind: 'classifier', name, nIn: w.nf, wantsStrings: false, classes,
    predictIndex(x) {
      const s = decide(x);
      const out = new Int32Array(x.rows);
      for (let r = 0; r < x.rows; r++) out[r] = binary ? (s[r]! > 0 ? 1 : 0) : argmax(s, r * n, n);
      return out;
    },
    decisionFunction(x): Block {
      return { data: decide(x), cols: w.k, flat: binary };
    },
  };
  if (mode !== 'none') model.predictProba = (x) => proba(decide(x), x.rows, n, binary, mode);
  return model;
}

function proba(s: Float64Array, rows: number, n: number, binary: boolean, mode: ProbaMode): Float64Array {
  const p = new Float64Array(rows * n);
  if (binary) {
    for (let r = 0; r < rows; r++) {
      const d = s[r]!;
      if (mode === 'ovr') {
        const e = expit(d);
        p[2 * r] = 1 - e;
        p[2 * r + 1] = e;
      } else if (mode === 'multinomial') {
        p[2 * r] = -d;
        p[2 * r + 1] = d;
      } else {
        const e = (Math.min(Math.max(d, -1), 1) + 1) / 2;
        p[2 * r] = 1 - e;
        p[2 * r + 1] = e;
      }
    }
    if (mode === 'multinomial') softmaxRows(p, rows, 2);
    return p;
  }
  if (mode === 'multinomial') {
    p.set(s);
    softmaxRows(p, rows, n);
    return p;
  }
  if (mode === 'ovr') {
    for (let i = 0; i < p.length; i++) p[i] = expit(s[i]!);
    normalizeRows(p, rows, n, false);
    return p;
  }
  // modified_huber, multiclass: (clip(d, -1, 1) + 1) / 2, all-zero rows become uniform.
  for (let i = 0; i < p.length; i++) p[i] = (Math.min(Math.max(s[i]!, -1), 1) + 1) / 2;
  for (let r = 0; r < rows; r++) {
    let allZero = true;
    for (let j = 0; j < n; j++) if (p[r * n + j] !== 0) allZero = false;
    if (allZero) for (let j = 0; j < n; j++) p[r * n + j] = 1;
  }
  normalizeRows(p, rows, n, false);
  return p;
}

/** Number of features a fitted estimator was trained on. */
export function nFeatures(o: PyObject, fallback = -1): number {
  try {
    return num(o, 'n_features_in_');
  } catch {
    return fallback;
  }
}
