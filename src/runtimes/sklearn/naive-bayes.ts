/** Gaussian naive Bayes, with sklearn's joint log-likelihood and logsumexp normalization. */
import type { Classifier } from './estimator.js';
import { argmax, asNum, checkWidth, logsumexp, npSum, type Matrix } from './matrix.js';
import { bad, type PyObject } from './py-values.js';
import { arr, floats, labels } from './state.js';

export function gaussianNB(o: PyObject): Classifier {
  const classes = labels(o);
  const k = classes.values.length;
  const theta = arr(o, 'theta_');
  const nf = theta.shape[1] ?? 0;
  const th = theta.numbers();
  const v = o.dict.has('var_') ? arr(o, 'var_').numbers() : arr(o, 'sigma_').numbers();
  const prior = floats(o, 'class_prior_');
  if (theta.shape[0] !== k || v.length !== k * nf || prior.length !== k) throw bad('GaussianNB parameters do not match its classes');
  const name = o.shortName;
  // Per class: log prior and -0.5 * sum(log(2π var)), computed once like numpy.
  const logTerm = new Float64Array(nf);
  const base = Float64Array.from({ length: k }, (_, c) => {
    for (let f = 0; f < nf; f++) logTerm[f] = Math.log(2 * Math.PI * v[c * nf + f]!);
    return -0.5 * npSum(logTerm, 0, nf);
  });
  const logPrior = Float64Array.from(prior, Math.log);
  const jll = (x: Matrix): Float64Array => {
    checkWidth(x, nf, name);
    const X = asNum(x, name);
    const out = new Float64Array(X.rows * k);
    const t = new Float64Array(nf);
    for (let r = 0; r < X.rows; r++) {
      for (let c = 0; c < k; c++) {
        for (let f = 0; f < nf; f++) {
          const d = X.data[r * nf + f]! - th[c * nf + f]!;
          t[f] = (d * d) / v[c * nf + f]!;
        }
        const nij = base[c]! - 0.5 * npSum(t, 0, nf);
        out[r * k + c] = logPrior[c]! + nij;
      }
    }
    return out;
  };
  return {
    kind: 'classifier', name, nIn: nf, wantsStrings: false, classes,
    predictIndex(x) {
      const j = jll(x);
      const out = new Int32Array(x.rows);
      for (let r = 0; r < x.rows; r++) out[r] = argmax(j, r * k, k);
      return out;
    },
    predictProba(x) {
      const j = jll(x);
      const tmp = new Float64Array(k);
      for (let r = 0; r < x.rows; r++) {
        const lse = logsumexp(j, r * k, k, tmp);
        for (let c = 0; c < k; c++) j[r * k + c] = Math.exp(j[r * k + c]! - lse);
      }
      return j;
    },
  };
}
