/** Gradient boosting: the classic GradientBoosting* (sklearn trees) and HistGradientBoosting* (own predictor nodes). */
import type { Block, Classifier, Regressor } from './estimator.js';
import { argmax, asNum, checkWidth, expit, logsumexp, softmaxRows, type Matrix } from './matrix.js';
import { NdArray } from './ndarray.js';
import { bad, PyObject, type PyVal } from './py-values.js';
import { arr, attr, floats, labels, num, obj, type Labels } from './state.js';
import { compileForest, leafOf, rejectNaN, treesOf } from './tree.js';

type Link = 'identity' | 'log' | 'logit' | 'softmax' | 'logsumexp';

/** Raw scores (n × K) → outputs, shared by both boosting flavours. */
function finish(o: PyObject, nIn: number, K: number, link: Link, raw: (x: Matrix) => Float64Array, classes: Labels | null): Classifier | Regressor {
  const name = o.shortName;
  if (!classes) {
    if (K !== 1) throw bad(`${name} has ${K} trees per iteration; a regressor should have 1`);
    if (link !== 'identity' && link !== 'log') throw bad(`${name} has a ${link} link, which a regressor cannot use`);
    return {
      kind: 'regressor', name, nIn, wantsStrings: false, nTargets: 1,
      predict(x) {
        const r = raw(x);
        if (link === 'log') for (let i = 0; i < r.length; i++) r[i] = Math.exp(r[i]!);
        return r;
      },
    };
  }
  const k = classes.values.length;
  if (K === 1 ? k !== 2 || link !== 'logit' : K !== k || (link !== 'softmax' && link !== 'logsumexp')) {
    throw bad(`${name} has ${K} trees per iteration and a ${link} link for ${k} classes`);
  }
  const proba = (x: Matrix): Float64Array => {
    const r = raw(x);
    const n = x.rows;
    const p = new Float64Array(n * k);
    if (K === 1) {
      for (let i = 0; i < n; i++) {
        const e = expit(r[i]!);
        p[2 * i] = 1 - e;
        p[2 * i + 1] = e;
      }
    } else if (link === 'softmax') {
      p.set(r);
      softmaxRows(p, n, k);
    } else {
      const tmp = new Float64Array(k);
      for (let i = 0; i < n; i++) {
        const lse = logsumexp(r, i * k, k, tmp);
        for (let j = 0; j < k; j++) {
          const v = Math.exp(r[i * k + j]! - lse);
          p[i * k + j] = Number.isNaN(v) ? 0 : v;
        }
      }
    }
    return p;
  };
  return {
    kind: 'classifier', name, nIn, wantsStrings: false, classes,
    predictIndex(x) {
      const p = proba(x);
      const out = new Int32Array(x.rows);
      for (let i = 0; i < x.rows; i++) out[i] = argmax(p, i * k, k);
      return out;
    },
    predictProba: proba,
    decisionFunction(x): Block {
      return { data: raw(x), cols: K, flat: K === 1 };
    },
  };
}

function lossLink(o: PyObject, key: string): Link {
  const loss = attr(o, key);
  if (!(loss instanceof PyObject)) throw bad(`${o.shortName}.${key} is missing`);
  const n = loss.shortName;
  if (n.includes('Exponential')) throw bad(`${o.shortName} with the exponential loss is not supported`);
  if (n.includes('Multinomial')) return loss.cls.startsWith('sklearn._loss') ? 'softmax' : 'logsumexp';
  if (n.includes('Binomial')) return 'logit';
  if (n.includes('Poisson') || n.includes('Gamma') || n.includes('Tweedie')) return 'log';
  return 'identity';
}

export function gradientBoosting(o: PyObject, classifier: boolean): Classifier | Regressor {
  const name = o.shortName;
  const est = arr(o, 'estimators_');
  if (est.ndim !== 2 || !est.objects) throw bad(`${name}.estimators_ should be a 2-D object array`);
  const [stages, K] = [est.shape[0]!, est.shape[1]!];
  const f = compileForest(treesOf(est.objects, `${name}.estimators_`), `${name}.estimators_`);
  const lr = num(o, 'learning_rate');
  const link = lossLink(o, attr(o, '_loss') !== undefined ? '_loss' : 'loss_');
  const init = initRaw(o, K, link);
  const nIn = num(o, 'n_features_in_');
  const raw = (x: Matrix): Float64Array => {
    checkWidth(x, nIn, name);
    const X = asNum(x, name);
    rejectNaN(f, X.data, X.rows, X.cols, name);
    const out = new Float64Array(X.rows * K);
    for (let r = 0; r < X.rows; r++) {
      for (let k = 0; k < K; k++) out[r * K + k] = init[k]!;
      for (let s = 0; s < stages; s++) {
        for (let k = 0; k < K; k++) {
          const leaf = leafOf(f, s * K + k, X.data, r * X.cols);
          out[r * K + k] = out[r * K + k]! + lr * f.value[leaf]!;
        }
      }
    }
    return out;
  };
  return finish(o, nIn, K, link, raw, classifier ? labels(o) : null);
}

/** The init estimator's raw prediction (constant for Dummy estimators and 'zero'). */
function initRaw(o: PyObject, K: number, link: Link): Float64Array {
  const init = attr(o, 'init_');
  if (init === 'zero') return new Float64Array(K);
  if (!(init instanceof PyObject)) throw bad(`${o.shortName}.init_ is not supported`);
  if (init.shortName === 'DummyRegressor') {
    const c = floats(init, 'constant_');
    return Float64Array.from({ length: K }, (_, k) => c[k] ?? c[0]!);
  }
  if (init.shortName !== 'DummyClassifier') throw bad(`${o.shortName} init estimator ${init.shortName} is not supported`);
  const prior = floats(init, 'class_prior_');
  const eps = 2 ** -23;
  const clip = (p: number): number => Math.min(Math.max(p, eps), 1 - eps);
  if (K === 1) {
    const p = clip(prior[1]!);
    return Float64Array.of(link === 'logit' ? Math.log(p / (1 - p)) : p);
  }
  return Float64Array.from(prior, (p) => Math.log(clip(p)));
}

// ---------------------------------------------------------------- HistGradientBoosting
interface HistForest {
  roots: Int32Array;
  value: Float64Array;
  feature: Int32Array;
  threshold: Float64Array;
  missingLeft: Uint8Array;
  left: Int32Array;
  right: Int32Array;
  leaf: Uint8Array;
}

function compileHist(predictors: PyVal[][], nIn: number, name: string): HistForest {
  const nodes = predictors.flat().map((p, i) => {
    const n = p instanceof PyObject ? p.dict.get('nodes') : undefined;
    if (!(n instanceof NdArray)) throw bad(`${name}._predictors[${i}] is not a TreePredictor`);
    return n;
  });
  const total = nodes.reduce((s, n) => s + n.size, 0);
  // A predictor shared by memo references is copied once per reference: each copy is charged.
  if (nodes[0]) nodes[0].budget.charge(nodes.length * 4 + total * (8 * 2 + 4 * 3 + 2), `${name}: flattened trees`);
  const h: HistForest = {
    roots: new Int32Array(nodes.length), value: new Float64Array(total), feature: new Int32Array(total),
    threshold: new Float64Array(total), missingLeft: new Uint8Array(total), left: new Int32Array(total),
    right: new Int32Array(total), leaf: new Uint8Array(total),
  };
  let base = 0;
  nodes.forEach((n, t) => {
    const [value, feat, thr, miss, left, right, leaf] =
      ['value', 'feature_idx', 'num_threshold', 'missing_go_to_left', 'left', 'right', 'is_leaf'].map((f) => n.field(f));
    if (n.hasField('is_categorical') && n.field('is_categorical').some((v) => v !== 0)) {
      throw bad(`${name} uses categorical splits, which are not supported`);
    }
    for (let i = 0; i < n.size; i++) {
      const isLeaf = leaf![i]! !== 0;
      if (!isLeaf && (!(left![i]! > i && left![i]! < n.size) || !(right![i]! > i && right![i]! < n.size) || !(feat![i]! >= 0 && feat![i]! < nIn))) {
        throw bad(`${name} tree ${t} node ${i} has invalid children or feature`);
      }
      h.value[base + i] = value![i]!;
      h.feature[base + i] = feat![i]!;
      h.threshold[base + i] = thr![i]!;
      h.missingLeft[base + i] = miss![i]!;
      h.left[base + i] = base + left![i]!;
      h.right[base + i] = base + right![i]!;
      h.leaf[base + i] = isLeaf ? 1 : 0;
    }
    h.roots[t] = base;
    base += n.size;
  });
  return h;
}

export function histGradientBoosting(o: PyObject, classifier: boolean): Classifier | Regressor {
  const name = o.shortName;
  const pre = attr(o, '_preprocessor');
  if (pre !== undefined && pre !== null) throw bad(`${name} with categorical_features from dtypes is not supported`);
  const iterations = attr(o, '_predictors');
  if (!Array.isArray(iterations) || iterations.some((it) => !Array.isArray(it))) throw bad(`${name}._predictors is malformed`);
  const K = num(o, 'n_trees_per_iteration_');
  const preds = iterations as PyVal[][];
  if (preds.some((it) => it.length !== K)) throw bad(`${name}._predictors do not match n_trees_per_iteration_`);
  const nIn = num(o, 'n_features_in_');
  const h = compileHist(preds, nIn, name);
  const baseline = floats(o, '_baseline_prediction');
  if (baseline.length !== K) throw bad(`${name}._baseline_prediction has ${baseline.length} values for ${K} trees per iteration`);
  const linkObj = obj(obj(o, '_loss'), 'link').shortName;
  const link: Link = linkObj === 'IdentityLink' ? 'identity' : linkObj === 'LogLink' ? 'log'
    : linkObj === 'LogitLink' ? 'logit' : linkObj === 'MultinomialLogit' ? 'softmax' : (() => { throw bad(`${name} link ${linkObj} is not supported`); })();
  const nIter = preds.length;
  const raw = (x: Matrix): Float64Array => {
    checkWidth(x, nIn, name);
    const X = asNum(x, name);
    const d = X.data;
    const out = new Float64Array(X.rows * K);
    for (let r = 0; r < X.rows; r++) {
      const xo = r * nIn;
      for (let k = 0; k < K; k++) {
        let acc = baseline[k]!;
        for (let it = 0; it < nIter; it++) {
          let n = h.roots[it * K + k]!;
          while (!h.leaf[n]) {
            const v = d[xo + h.feature[n]!]!;
            if (v !== v) n = h.missingLeft[n] ? h.left[n]! : h.right[n]!;
            else n = v <= h.threshold[n]! ? h.left[n]! : h.right[n]!;
          }
          acc += h.value[n]!;
        }
        out[r * K + k] = acc;
      }
    }
    return out;
  };
  return finish(o, nIn, K, link, raw, classifier ? labels(o) : null);
}
