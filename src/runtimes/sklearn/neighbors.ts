/** k-nearest neighbours (classifier and regressor) by exhaustive search over `_fit_X`. */
import type { Classifier, Regressor } from './estimator.js';
import { argmax, asNum, checkWidth, npSum, type Matrix, type NumMatrix } from './matrix.js';
import { bad, PyDict, type PyObject } from './py-values.js';
import { arr, attr, labels, num, optStr } from './state.js';

type Dist = (x: Float64Array, xo: number, y: Float64Array, yo: number, nf: number) => number;

function metricOf(o: PyObject): Dist {
  const name = optStr(o, 'effective_metric_') ?? optStr(o, 'metric') ?? 'minkowski';
  const params = attr(o, 'effective_metric_params_');
  let p = typeof params === 'object' && params instanceof PyDict && typeof params.get('p') === 'number' ? (params.get('p') as number) : 2;
  if (name === 'minkowski' && typeof attr(o, 'p') === 'number' && !(params instanceof PyDict && params.has('p'))) p = num(o, 'p');
  const metric = name === 'minkowski' ? (p === 2 ? 'euclidean' : p === 1 ? 'manhattan' : 'minkowski') : name;
  switch (metric) {
    case 'euclidean': case 'l2':
      return (x, xo, y, yo, nf) => {
        let s = 0;
        for (let f = 0; f < nf; f++) { const d = x[xo + f]! - y[yo + f]!; s += d * d; }
        return Math.sqrt(s);
      };
    case 'manhattan': case 'cityblock': case 'l1':
      return (x, xo, y, yo, nf) => {
        let s = 0;
        for (let f = 0; f < nf; f++) s += Math.abs(x[xo + f]! - y[yo + f]!);
        return s;
      };
    case 'chebyshev': case 'infinity':
      return (x, xo, y, yo, nf) => {
        let s = 0;
        for (let f = 0; f < nf; f++) s = Math.max(s, Math.abs(x[xo + f]! - y[yo + f]!));
        return s;
      };
    case 'minkowski':
      if (!(p > 0 && Number.isFinite(p))) throw bad(`${o.shortName} Minkowski p=${p} is not supported`);
      return (x, xo, y, yo, nf) => {
        let s = 0;
        for (let f = 0; f < nf; f++) s += Math.abs(x[xo + f]! - y[yo + f]!) ** p;
        return s ** (1 / p);
      };
    default:
      throw bad(`${o.shortName} metric "${metric}" is not supported (euclidean, manhattan, chebyshev, minkowski are)`);
  }
}

interface Search {
  nf: number;
  k: number;
  distance: boolean;
  /** For each query row: neighbour indices and distances, nearest first. */
  run(X: NumMatrix, each: (r: number, idx: Int32Array, dist: Float64Array) => void): void;
}

function search(o: PyObject): Search {
  const fit = arr(o, '_fit_X');
  if (fit.ndim !== 2) throw bad(`${o.shortName}._fit_X must be 2-D`);
  const [n, nf] = [fit.shape[0]!, fit.shape[1]!];
  const data = fit.numbers();
  const k = num(o, 'n_neighbors');
  if (!(Number.isInteger(k) && k >= 1 && k <= n)) throw bad(`${o.shortName}.n_neighbors=${k} is not in 1..${n}`);
  const weights = attr(o, 'weights');
  if (weights !== 'uniform' && weights !== 'distance' && weights !== null) throw bad(`${o.shortName} weights must be "uniform" or "distance"`);
  const dist = metricOf(o);
  return {
    nf, k, distance: weights === 'distance',
    run(X, each) {
      const idx = new Int32Array(k);
      const dd = new Float64Array(k);
      for (let r = 0; r < X.rows; r++) {
        let filled = 0;
        for (let i = 0; i < n; i++) {
          const d = dist(X.data, r * nf, data, i * nf, nf);
          if (filled === k && !(d < dd[k - 1]!)) continue;
          let j = filled === k ? k - 1 : filled++;
          while (j > 0 && dd[j - 1]! > d) { dd[j] = dd[j - 1]!; idx[j] = idx[j - 1]!; j--; }
          dd[j] = d;
          idx[j] = i;
        }
        each(r, idx, dd);
      }
    },
  };
}

/** sklearn's _get_weights for 'distance': 1/d, and rows touching a sample weigh only the exact matches. */
function inverseDistance(dd: Float64Array, w: Float64Array): void {
  let exact = false;
  for (let j = 0; j < dd.length; j++) if (dd[j] === 0) exact = true;
  for (let j = 0; j < dd.length; j++) w[j] = exact ? (dd[j] === 0 ? 1 : 0) : 1 / dd[j]!;
}

export function kNeighborsClassifier(o: PyObject): Classifier {
  const s = search(o);
  const classes = labels(o);
  const nc = classes.values.length;
  const y = arr(o, '_y');
  if (y.ndim !== 1) throw bad(`${o.shortName} with multi-output targets is not supported`);
  const yIdx = y.numbers();
  const name = o.shortName;
  const votes = (x: Matrix, normalize: boolean): Float64Array => {
    checkWidth(x, s.nf, name);
    const X = asNum(x, name);
    const out = new Float64Array(X.rows * nc);
    const w = new Float64Array(s.k);
    s.run(X, (r, idx, dd) => {
      if (s.distance) inverseDistance(dd, w); else w.fill(1);
      for (let j = 0; j < s.k; j++) {
        const c = yIdx[idx[j]!]!;
        out[r * nc + c] = out[r * nc + c]! + w[j]!;
      }
      if (normalize) {
        const sum = npSum(out, r * nc, nc);
        for (let c = 0; c < nc; c++) out[r * nc + c] = out[r * nc + c]! / sum;
      }
    });
    return out;
  };
  return {
    kind: 'classifier', name, nIn: s.nf, wantsStrings: false, classes,
    predictIndex(x) {
      const v = votes(x, false);
      const out = new Int32Array(x.rows);
      for (let r = 0; r < x.rows; r++) out[r] = argmax(v, r * nc, nc);
      return out;
    },
    predictProba: (x) => votes(x, true),
  };
}

export function kNeighborsRegressor(o: PyObject): Regressor {
  const s = search(o);
  const y = arr(o, '_y');
  if (y.ndim !== 1) throw bad(`${o.shortName} with multi-output targets is not supported`);
  const yv = y.numbers();
  const name = o.shortName;
  return {
    kind: 'regressor', name, nIn: s.nf, wantsStrings: false, nTargets: 1,
    predict(x) {
      checkWidth(x, s.nf, name);
      const X = asNum(x, name);
      const out = new Float64Array(X.rows);
      const w = new Float64Array(s.k);
      const t = new Float64Array(s.k);
      s.run(X, (r, idx, dd) => {
        if (!s.distance) {
          for (let j = 0; j < s.k; j++) t[j] = yv[idx[j]!]!;
          out[r] = npSum(t, 0, s.k) / s.k;
          return;
        }
        inverseDistance(dd, w);
        for (let j = 0; j < s.k; j++) t[j] = yv[idx[j]!]! * w[j]!;
        out[r] = npSum(t, 0, s.k) / npSum(w, 0, s.k);
      });
      return out;
    },
  };
}
