/** Decision trees and bagged forests (RandomForest, ExtraTrees) over a compiled flat forest. */
import type { Classifier, Regressor } from './estimator.js';
import { argmax, asNum, checkWidth, npSum, type Matrix, type NumMatrix } from './matrix.js';
import { bad, type PyObject } from './py-values.js';
import { attr, labels, list, num } from './state.js';
import { compileForest, leafOf, rejectNaN, treesOf, type FlatForest } from './tree.js';

function input(f: FlatForest, x: Matrix, name: string): NumMatrix {
  checkWidth(x, f.nFeatures, name);
  const X = asNum(x, name);
  rejectNaN(f, X.data, X.rows, X.cols, name);
  return X;
}

function forestOf(o: PyObject): FlatForest {
  const single = attr(o, 'tree_');
  if (single !== undefined) return compileForest([single], `${o.shortName}.tree_`);
  return compileForest(treesOf(list(o, 'estimators_'), `${o.shortName}.estimators_`), `${o.shortName}.estimators_`);
}

/** Mean over trees of each tree's normalized class distribution (sklearn's predict_proba). */
function forestProba(f: FlatForest, X: NumMatrix, k: number): Float64Array {
  const out = new Float64Array(X.rows * k);
  const w = f.width;
  for (let r = 0; r < X.rows; r++) {
    const o = r * k;
    for (let t = 0; t < f.nTrees; t++) {
      const leaf = leafOf(f, t, X.data, r * X.cols);
      let s = npSum(f.value, leaf * w, k);
      if (s === 0) s = 1;
      for (let j = 0; j < k; j++) out[o + j] = out[o + j]! + f.value[leaf * w + j]! / s;
    }
    if (f.nTrees > 1) for (let j = 0; j < k; j++) out[o + j] = out[o + j]! / f.nTrees;
  }
  return out;
}

export function treeClassifier(o: PyObject): Classifier {
  const f = forestOf(o);
  const classes = labels(o);
  const k = classes.values.length;
  const name = o.shortName;
  if (f.width < k) throw bad(`${name} trees hold ${f.width} class values for ${k} classes`);
  const single = attr(o, 'tree_') !== undefined;
  return {
    kind: 'classifier', name, nIn: f.nFeatures, wantsStrings: false, classes,
    predictIndex(x) {
      const X = input(f, x, name);
      const out = new Int32Array(X.rows);
      if (single) {
        for (let r = 0; r < X.rows; r++) out[r] = argmax(f.value, leafOf(f, 0, X.data, r * X.cols) * f.width, k);
        return out;
      }
      const p = forestProba(f, X, k);
      for (let r = 0; r < X.rows; r++) out[r] = argmax(p, r * k, k);
      return out;
    },
    predictProba(x) {
      return forestProba(f, input(f, x, name), k);
    },
  };
}

export function treeRegressor(o: PyObject): Regressor {
  const f = forestOf(o);
  const name = o.shortName;
  if (f.width !== 1) throw bad(`${name} trees hold ${f.width} values per node; expected 1`);
  num(o, 'n_features_in_');
  return {
    kind: 'regressor', name, nIn: f.nFeatures, wantsStrings: false, nTargets: 1,
    predict(x) {
      const X = input(f, x, name);
      const out = new Float64Array(X.rows);
      for (let r = 0; r < X.rows; r++) {
        let s = 0;
        for (let t = 0; t < f.nTrees; t++) s += f.value[leafOf(f, t, X.data, r * X.cols)]!;
        out[r] = f.nTrees > 1 ? s / f.nTrees : s;
      }
      return out;
    },
  };
}
