/** libsvm models (SVC, SVR) with sklearn's dense kernels, one-vs-one voting and Platt probabilities. */
import type { Block, Classifier, Regressor } from './estimator.js';
import { asNum, checkWidth, type Matrix, type NumMatrix } from './matrix.js';
import { bad, type PyObject } from './py-values.js';
import { arr, bool, floats, labels, num, optArr, optNum, str } from './state.js';

type Kernel = (x: Float64Array, xo: number, sv: Float64Array, so: number, nf: number) => number;

function powi(base: number, times: number): number {
  let tmp = base;
  let ret = 1;
  for (let t = times; t > 0; t = Math.floor(t / 2)) {
    if (t % 2 === 1) ret *= tmp;
    tmp *= tmp;
  }
  return ret;
}

function kernelOf(o: PyObject): Kernel {
  const kind = str(o, 'kernel');
  const gamma = num(o, '_gamma');
  const coef0 = optNum(o, 'coef0') ?? 0;
  const degree = optNum(o, 'degree') ?? 3;
  const dot = (x: Float64Array, xo: number, sv: Float64Array, so: number, nf: number): number => {
    let s = 0;
    for (let f = 0; f < nf; f++) s += x[xo + f]! * sv[so + f]!;
    return s;
  };
  switch (kind) {
    case 'linear': return dot;
    case 'poly': return (x, xo, sv, so, nf) => powi(gamma * dot(x, xo, sv, so, nf) + coef0, degree);
    case 'sigmoid': return (x, xo, sv, so, nf) => Math.tanh(gamma * dot(x, xo, sv, so, nf) + coef0);
    case 'rbf': return (x, xo, sv, so, nf) => {
      let s = 0;
      for (let f = 0; f < nf; f++) {
        const d = x[xo + f]! - sv[so + f]!;
        s += d * d;
      }
      return Math.exp(-gamma * s);
    };
    default: throw bad(`${o.shortName} kernel "${kind}" is not supported (linear, poly, rbf, sigmoid are)`);
  }
}

interface Libsvm {
  sv: Float64Array;
  nSV: number;
  nf: number;
  /** Rows of `_dual_coef_` (n_class - 1), each nSV long. */
  coef: Float64Array;
  /** libsvm's rho = -_intercept_. */
  rho: Float64Array;
  nSupport: number[];
  kernel: Kernel;
}

function libsvm(o: PyObject): Libsvm {
  if (bool(o, '_sparse', false)) throw bad(`${o.shortName} was fitted on sparse data, which is not supported`);
  const svs = arr(o, 'support_vectors_');
  const [nSV, nf] = [svs.shape[0] ?? 0, svs.shape[1] ?? 0];
  const coef = arr(o, '_dual_coef_');
  if (coef.size !== (coef.shape[0] ?? 0) * nSV) throw bad(`${o.shortName}._dual_coef_ does not match the support vectors`);
  const intercept = floats(o, '_intercept_');
  const nSupport = Array.from((optArr(o, '_n_support') ?? arr(o, 'n_support_')).numbers());
  return { sv: svs.numbers(), nSV, nf, coef: coef.numbers(), rho: intercept.map((v) => -v), nSupport, kernel: kernelOf(o) };
}

/** svm_predict_values: decision values per class pair (i<j), written into dec. */
function decisionValues(m: Libsvm, x: Float64Array, xo: number, kv: Float64Array, dec: Float64Array): void {
  for (let s = 0; s < m.nSV; s++) kv[s] = m.kernel(x, xo, m.sv, s * m.nf, m.nf);
  const k = m.nSupport.length;
  const start: number[] = [0];
  for (let i = 1; i < k; i++) start.push(start[i - 1]! + m.nSupport[i - 1]!);
  let p = 0;
  for (let i = 0; i < k; i++) {
    for (let j = i + 1; j < k; j++) {
      let sum = 0;
      const c1 = (j - 1) * m.nSV;
      const c2 = i * m.nSV;
      for (let t = 0; t < m.nSupport[i]!; t++) sum += m.coef[c1 + start[i]! + t]! * kv[start[i]! + t]!;
      for (let t = 0; t < m.nSupport[j]!; t++) sum += m.coef[c2 + start[j]! + t]! * kv[start[j]! + t]!;
      dec[p] = sum - m.rho[p]!;
      p++;
    }
  }
}

function sigmoidPredict(d: number, a: number, b: number): number {
  const fApB = d * a + b;
  return fApB >= 0 ? Math.exp(-fApB) / (1 + Math.exp(-fApB)) : 1 / (1 + Math.exp(fApB));
}

/** libsvm's multiclass_probability (Wu, Lin and Weng, method 2). */
function multiclassProbability(k: number, r: Float64Array, p: Float64Array, off: number): void {
  const maxIter = Math.max(100, k);
  const Q = new Float64Array(k * k);
  const Qp = new Float64Array(k);
  const eps = 0.005 / k;
  for (let t = 0; t < k; t++) {
    p[off + t] = 1 / k;
    Q[t * k + t] = 0;
    for (let j = 0; j < t; j++) {
      Q[t * k + t] = Q[t * k + t]! + (r[j * k + t]! * r[j * k + t]!);
      Q[t * k + j] = Q[j * k + t]!;
    }
    for (let j = t + 1; j < k; j++) {
      Q[t * k + t] = Q[t * k + t]! + (r[j * k + t]! * r[j * k + t]!);
      Q[t * k + j] = -r[j * k + t]! * r[t * k + j]!;
    }
  }
  for (let iter = 0; iter < maxIter; iter++) {
    let pQp = 0;
    for (let t = 0; t < k; t++) {
      Qp[t] = 0;
      for (let j = 0; j < k; j++) Qp[t] = Qp[t]! + (Q[t * k + j]! * p[off + j]!);
      pQp += p[off + t]! * Qp[t]!;
    }
    let maxError = 0;
    for (let t = 0; t < k; t++) maxError = Math.max(maxError, Math.abs(Qp[t]! - pQp));
    if (maxError < eps) break;
    for (let t = 0; t < k; t++) {
      const diff = (-Qp[t]! + pQp) / Q[t * k + t]!;
      p[off + t] = p[off + t]! + (diff);
      pQp = (pQp + diff * (diff * Q[t * k + t]! + 2 * Qp[t]!)) / (1 + diff) / (1 + diff);
      for (let j = 0; j < k; j++) {
        Qp[j] = (Qp[j]! + diff * Q[t * k + j]!) / (1 + diff);
        p[off + j] = p[off + j]! / (1 + diff);
      }
    }
  }
}

export function svc(o: PyObject): Classifier {
  const m = libsvm(o);
  const classes = labels(o);
  const k = classes.values.length;
  const name = o.shortName;
  if (m.nSupport.length !== k) throw bad(`${name} has support vectors for ${m.nSupport.length} classes, classes_ has ${k}`);
  const pairs = (k * (k - 1)) / 2;
  const ovr = (optString(o, 'decision_function_shape') ?? 'ovr') === 'ovr';
  const breakTies = bool(o, 'break_ties', false);
  const run = (x: Matrix, each: (r: number, dec: Float64Array) => void): void => {
    checkWidth(x, m.nf, name);
    const X: NumMatrix = asNum(x, name);
    const kv = new Float64Array(m.nSV);
    const dec = new Float64Array(pairs);
    for (let r = 0; r < X.rows; r++) {
      decisionValues(m, X.data, r * m.nf, kv, dec);
      each(r, dec);
    }
  };
  const decision = (x: Matrix): Block => {
    if (k === 2) {
      const out = new Float64Array(x.rows);
      run(x, (r, dec) => { out[r] = -dec[0]!; });
      return { data: out, cols: 1, flat: true };
    }
    const cols = ovr ? k : pairs;
    const out = new Float64Array(x.rows * cols);
    run(x, (r, dec) => {
      if (!ovr) { out.set(dec, r * pairs); return; }
      // sklearn's _ovr_decision_function(dec < 0, -dec, k)
      const votes = new Float64Array(k);
      const conf = new Float64Array(k);
      let p = 0;
      for (let i = 0; i < k; i++) {
        for (let j = i + 1; j < k; j++) {
          conf[i] = conf[i]! - (-dec[p]!);
          conf[j] = conf[j]! + (-dec[p]!);
          if (dec[p]! < 0) votes[j] = votes[j]! + 1; else votes[i] = votes[i]! + 1;
          p++;
        }
      }
      for (let i = 0; i < k; i++) out[r * k + i] = votes[i]! + conf[i]! / (3 * (Math.abs(conf[i]!) + 1));
    });
    return { data: out, cols, flat: false };
  };
  const model: Classifier = {
    kind: 'classifier', name, nIn: m.nf, wantsStrings: false, classes,
    predictIndex(x) {
      const out = new Int32Array(x.rows);
      if (breakTies && ovr && k > 2) {
        const d = decision(x).data;
        for (let r = 0; r < x.rows; r++) {
          let best = 0;
          for (let i = 1; i < k; i++) if (d[r * k + i]! > d[r * k + best]!) best = i;
          out[r] = best;
        }
        return out;
      }
      const vote = new Int32Array(k);
      run(x, (r, dec) => {
        vote.fill(0);
        let p = 0;
        for (let i = 0; i < k; i++) for (let j = i + 1; j < k; j++) { if (dec[p]! > 0) vote[i] = vote[i]! + 1; else vote[j] = vote[j]! + 1; p++; }
        let best = 0;
        for (let i = 1; i < k; i++) if (vote[i]! > vote[best]!) best = i;
        out[r] = best;
      });
      return out;
    },
    decisionFunction: decision,
  };
  if (bool(o, 'probability', false)) {
    const A = floats(o, optArr(o, '_probA') ? '_probA' : 'probA_');
    const B = floats(o, optArr(o, '_probB') ? '_probB' : 'probB_');
    if (A.length !== pairs || B.length !== pairs) throw bad(`${name} probability=True but its Platt parameters do not match its classes`);
    model.predictProba = (x) => {
      const out = new Float64Array(x.rows * k);
      const pw = new Float64Array(k * k);
      const minProb = 1e-7;
      run(x, (r, dec) => {
        let p = 0;
        for (let i = 0; i < k; i++) {
          for (let j = i + 1; j < k; j++) {
            const v = Math.min(Math.max(sigmoidPredict(dec[p]!, A[p]!, B[p]!), minProb), 1 - minProb);
            pw[i * k + j] = v;
            pw[j * k + i] = 1 - v;
            p++;
          }
        }
        // sklearn's libsvm fork runs the coupling iteration for two classes too (newer libsvm does not).
        multiclassProbability(k, pw, out, r * k);
      });
      return out;
    };
  }
  return model;
}

function optString(o: PyObject, key: string): string | undefined {
  const v = o.dict.get(key);
  return typeof v === 'string' ? v : undefined;
}

export function svr(o: PyObject): Regressor {
  const m = libsvm(o);
  const name = o.shortName;
  return {
    kind: 'regressor', name, nIn: m.nf, wantsStrings: false, nTargets: 1,
    predict(x) {
      checkWidth(x, m.nf, name);
      const X = asNum(x, name);
      const out = new Float64Array(X.rows);
      const kv = new Float64Array(m.nSV);
      for (let r = 0; r < X.rows; r++) {
        for (let s = 0; s < m.nSV; s++) kv[s] = m.kernel(X.data, r * m.nf, m.sv, s * m.nf, m.nf);
        let sum = 0;
        for (let s = 0; s < m.nSV; s++) sum += m.coef[s]! * kv[s]!;
        out[r] = sum - m.rho[0]!;
      }
      return out;
    },
  };
}
