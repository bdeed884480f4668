/**
 * k-nearest neighbours (classifier and regressor), searched the way the fitted estimator's
 * `_fit_method` searches in scikit-learn, so ties between equal distances resolve to the
 * same neighbours in the same order:
 *
 * - `kd_tree` / `ball_tree`: the pickled tree's depth-first query (`_binary_tree.pxi`),
 *   nearer child first, pruning on the node's reduced-distance bound, every candidate
 *   offered to a k-element max-heap that refuses a value equal to its largest
 *   (`heap_push`), so among equal distances the first one the traversal reaches stays.
 * - `brute`: the pairwise-distances reduction (`ArgKmin`): candidates in index order into
 *   one heap, the heap re-pushed into the result heap (`parallel_on_Y`, one worker: the
 *   strategy for up to 1,024 query rows), Euclidean ranked by ‖y‖² − 2x·y. Integer rows,
 *   which ArgKmin does not take, go through numpy's argpartition and argsort instead.
 *
 * Heaps are then sorted with sklearn's own `simultaneous_sort` (an unstable quicksort
 * whose tie order the regressor's mean depends on).
 */
import type { Classifier, Regressor } from './estimator.js';
import { argmax, asNum, checkWidth, npSum, type Matrix, type NumMatrix } from './matrix.js';
import { NdArray } from './ndarray.js';
import { argpartition, argsortInPlace } from './np-select.js';
import { bad, PyDict, PyObject } from './py-values.js';
import { arr, attr, labels, num, optStr } from './state.js';

/** A DistanceMetric: its rank-preserving reduced distance, and the conversions both ways. */
interface Metric {
  /** Minkowski p as the KD-tree bound uses it (1, 2, p, or Infinity for Chebyshev). */
  p: number;
  euclidean: boolean;
  rdist(x: Float64Array, xo: number, y: Float64Array, yo: number, nf: number): number;
  toDist(r: number): number;
  toRdist(d: number): number;
}

function metricOf(o: PyObject): Metric {
  const name = optStr(o, 'effective_metric_') ?? optStr(o, 'metric') ?? 'minkowski';
  const params = attr(o, 'effective_metric_params_');
  let p = typeof params === 'object' && params instanceof PyDict && typeof params.get('p') === 'number' ? (params.get('p') as number) : 2;
  if (name === 'minkowski' && typeof attr(o, 'p') === 'number' && !(params instanceof PyDict && params.has('p'))) p = num(o, 'p');
  const metric = name === 'minkowski' ? (p === 2 ? 'euclidean' : p === 1 ? 'manhattan' : 'minkowski') : name;
  const same = (v: number): number => v;
  switch (metric) {
    case 'euclidean': case 'l2':
      return {
        p: 2, euclidean: true, toDist: Math.sqrt, toRdist: (d) => d * d,
        rdist(x, xo, y, yo, nf) {
          let s = 0;
          for (let f = 0; f < nf; f++) { const d = x[xo + f]! - y[yo + f]!; s += d * d; }
          return s;
        },
      };
    case 'manhattan': case 'cityblock': case 'l1':
      return {
        p: 1, euclidean: false, toDist: same, toRdist: same,
        rdist(x, xo, y, yo, nf) {
          let s = 0;
          for (let f = 0; f < nf; f++) s += Math.abs(x[xo + f]! - y[yo + f]!);
          return s;
        },
      };
    case 'chebyshev': case 'infinity':
      return {
        p: Infinity, euclidean: false, toDist: same, toRdist: same,
        rdist(x, xo, y, yo, nf) {
          let s = 0;
          for (let f = 0; f < nf; f++) s = Math.max(s, Math.abs(x[xo + f]! - y[yo + f]!));
          return s;
        },
      };
    case 'minkowski':
      if (!(p > 0 && Number.isFinite(p))) throw bad(`${o.shortName} Minkowski p=${p} is not supported`);
      return {
        p, euclidean: false, toDist: (r) => r ** (1 / p), toRdist: (d) => d ** p,
        rdist(x, xo, y, yo, nf) {
          let s = 0;
          for (let f = 0; f < nf; f++) s += Math.abs(x[xo + f]! - y[yo + f]!) ** p;
          return s;
        },
      };
    default:
      throw bad(`${o.shortName} metric "${metric}" is not supported (euclidean, manhattan, chebyshev, minkowski are)`);
  }
}

/**
 * sklearn.utils._heap.heap_push: a max-heap of reduced distances in `d[o..o+k)`; a value not
 * below the largest is refused, so the first of equal candidates stays.
 */
function heapPush(d: Float64Array, ix: Int32Array, k: number, val: number, vi: number): void {
  if (!(val < d[0]!)) return;
  let cur = 0;
  for (;;) {
    const left = 2 * cur + 1;
    const right = left + 1;
    let swap: number;
    if (left >= k) break;
    else if (right >= k) {
      if (d[left]! > val) swap = left;
      else break;
    } else if (d[left]! >= d[right]!) {
      if (val < d[left]!) swap = left;
      else break;
    } else if (val < d[right]!) swap = right;
    else break;
    d[cur] = d[swap]!;
    ix[cur] = ix[swap]!;
    cur = swap;
  }
  d[cur] = val;
  ix[cur] = vi;
}

function dualSwap(d: Float64Array, ix: Int32Array, a: number, b: number): void {
  const t = d[a]!; d[a] = d[b]!; d[b] = t;
  const u = ix[a]!; ix[a] = ix[b]!; ix[b] = u;
}

/** sklearn.utils._sorting.simultaneous_sort over d[o..o+size): median-of-three quicksort. */
function simultaneousSort(d: Float64Array, ix: Int32Array, o: number, size: number): void {
  if (size <= 1) return;
  if (size === 2) {
    if (d[o]! > d[o + 1]!) dualSwap(d, ix, o, o + 1);
    return;
  }
  if (size === 3) {
    if (d[o]! > d[o + 1]!) dualSwap(d, ix, o, o + 1);
    if (d[o + 1]! > d[o + 2]!) {
      dualSwap(d, ix, o + 1, o + 2);
      if (d[o]! > d[o + 1]!) dualSwap(d, ix, o, o + 1);
    }
    return;
  }
  const mid = o + (size >> 1);
  const last = o + size - 1;
  if (d[o]! > d[last]!) dualSwap(d, ix, o, last);
  if (d[last]! > d[mid]!) {
    dualSwap(d, ix, last, mid);
    if (d[o]! > d[last]!) dualSwap(d, ix, o, last);
  }
  const pivot = d[last]!;
  let store = o;
  for (let i = o; i < last; i++) {
    if (d[i]! < pivot) dualSwap(d, ix, i, store++);
  }
  dualSwap(d, ix, store, last);
  const left = store - o;
  if (left > 1) simultaneousSort(d, ix, o, left);
  if (left + 2 < size) simultaneousSort(d, ix, store + 1, size - left - 1);
}

interface Search {
  nf: number;
  k: number;
  distance: boolean;
  /** For each query row: neighbour indices and distances, in sklearn's order. */
  run(X: NumMatrix, each: (r: number, idx: Int32Array, dist: Float64Array) => void): void;
}

/** Fills `d`/`ix` with the k nearest of one query row: distances and indices in sklearn's order. */
type QueryRow = (X: Float64Array, xo: number, d: Float64Array, ix: Int32Array) => void;

/** A filled heap of reduced distances → sklearn's sorted distances (`get_arrays(sort=True)`, `rdist_to_dist`). */
function finishHeap(d: Float64Array, ix: Int32Array, k: number, metric: Metric): void {
  simultaneousSort(d, ix, 0, k);
  for (let j = 0; j < k; j++) d[j] = metric.toDist(d[j]!);
}

function search(o: PyObject): Search {
  const fit = arr(o, '_fit_X');
  if (fit.ndim !== 2) throw bad(`${o.shortName}._fit_X must be 2-D`);
  const [n, nf] = [fit.shape[0]!, fit.shape[1]!];
  const k = num(o, 'n_neighbors');
  if (!(Number.isInteger(k) && k >= 1 && k <= n)) throw bad(`${o.shortName}.n_neighbors=${k} is not in 1..${n}`);
  const weights = attr(o, 'weights');
  if (weights !== 'uniform' && weights !== 'distance' && weights !== null) throw bad(`${o.shortName} weights must be "uniform" or "distance"`);
  const metric = metricOf(o);
  const method = optStr(o, '_fit_method') ?? 'brute';
  let query: QueryRow;
  // sklearn's brute force takes integer rows through pairwise distances and argpartition, not ArgKmin (float only).
  let integerQuery: QueryRow | undefined;
  if (method === 'kd_tree' || method === 'ball_tree') query = treeQuery(o, method, metric, n, nf, k);
  else if (method === 'brute') {
    const data = fit.numbers();
    query = bruteQuery(data, metric, n, nf, k);
    integerQuery = bruteIntegerQuery(data, metric, n, nf, k);
  } else throw bad(`${o.shortName}._fit_method "${method.slice(0, 40)}" is not supported (kd_tree, ball_tree, brute are)`);
  return {
    nf, k, distance: weights === 'distance',
    run(X, each) {
      const d = new Float64Array(k);
      const ix = new Int32Array(k);
      for (let i = 0; i < X.data.length; i++) {
        // sklearn's check_array refuses these; a NaN distance would match no neighbour.
        if (!Number.isFinite(X.data[i]!)) throw bad(`row ${Math.floor(i / nf)}: input contains NaN or infinity, which k-nearest neighbours cannot use`);
      }
      const rowQuery = X.integer && integerQuery ? integerQuery : query;
      for (let r = 0; r < X.rows; r++) {
        d.fill(Infinity);
        ix.fill(0);
        rowQuery(X.data, r * nf, d, ix);
        each(r, ix, d);
      }
    },
  };
}

/** ArgKmin, `parallel_on_Y` with one worker: a worker heap in index order, re-pushed into the result heap. */
function bruteQuery(data: Float64Array, metric: Metric, n: number, nf: number, k: number): QueryRow {
  const wd = new Float64Array(k);
  const wi = new Int32Array(k);
  // Euclidean ranks by ‖y‖² − 2x·y (the GEMM decomposition); ‖x‖² is added after the search.
  let yNorm: Float64Array | undefined;
  if (metric.euclidean) {
    yNorm = new Float64Array(n);
    for (let j = 0; j < n; j++) yNorm[j] = dot(data, j * nf, data, j * nf, nf);
  }
  return (X, xo, d, ix) => {
    wd.fill(Infinity);
    wi.fill(0);
    for (let j = 0; j < n; j++) {
      const v = yNorm ? -2 * dot(X, xo, data, j * nf, nf) + yNorm[j]! : metric.rdist(X, xo, data, j * nf, nf);
      heapPush(wd, wi, k, v, j);
    }
    for (let j = 0; j < k; j++) heapPush(d, ix, k, wd[j]!, wi[j]!);
    if (!yNorm) {
      finishHeap(d, ix, k, metric);
      return;
    }
    // Sorted on ‖y‖² − 2x·y; then ‖x‖² is added, clamped at 0 (cancellation can leave −0 or less), and rooted.
    simultaneousSort(d, ix, 0, k);
    const xNorm = dot(X, xo, X, xo, nf);
    for (let j = 0; j < k; j++) d[j] = Math.sqrt(Math.max(d[j]! + xNorm, 0));
  };
}

/**
 * Integer rows by brute force (`_kneighbors_reduce_func`): the row of distances from
 * `pairwise_distances` (Euclidean squared as (−2x·y + ‖x‖²) + ‖y‖², clamped at 0; the
 * others as scipy's cdist), `argpartition(dist, k - 1)`, then `argsort` of the k kept.
 */
function bruteIntegerQuery(data: Float64Array, metric: Metric, n: number, nf: number, k: number): QueryRow {
  const dist = new Float64Array(n);
  const part = new Int32Array(n);
  const kept = new Float64Array(k);
  const order = new Int32Array(k);
  const yNorm = new Float64Array(n);
  if (metric.euclidean) for (let j = 0; j < n; j++) yNorm[j] = dot(data, j * nf, data, j * nf, nf);
  return (X, xo, d, ix) => {
    const xNorm = metric.euclidean ? dot(X, xo, X, xo, nf) : 0;
    for (let j = 0; j < n; j++) {
      dist[j] = metric.euclidean
        ? Math.max(-2 * dot(X, xo, data, j * nf, nf) + xNorm + yNorm[j]!, 0)
        : metric.toDist(metric.rdist(X, xo, data, j * nf, nf));
      part[j] = j;
    }
    argpartition(dist, part, n, k - 1);
    for (let j = 0; j < k; j++) { kept[j] = dist[part[j]!]!; order[j] = j; }
    argsortInPlace(kept, order, k);
    for (let j = 0; j < k; j++) {
      ix[j] = part[order[j]!]!;
      d[j] = metric.euclidean ? Math.sqrt(kept[order[j]!]!) : kept[order[j]!]!;
    }
  };
}

function dot(a: Float64Array, ao: number, b: Float64Array, bo: number, nf: number): number {
  let s = 0;
  for (let f = 0; f < nf; f++) s += a[ao + f]! * b[bo + f]!;
  return s;
}

/** The pickled KDTree/BallTree: its state is (data, idx_array, node_data, node_bounds, …). */
function treeQuery(o: PyObject, method: string, metric: Metric, n: number, nf: number, k: number): QueryRow {
  const tree = attr(o, '_tree');
  const state = tree instanceof PyObject && Array.isArray(tree.state) ? tree.state : undefined;
  const [dataA, idxA, nodesA, boundsA] = state ?? [];
  if (!(dataA instanceof NdArray && idxA instanceof NdArray && nodesA instanceof NdArray && boundsA instanceof NdArray)) {
    throw bad(`${o.shortName}._tree is not a scikit-learn ${method === 'kd_tree' ? 'KDTree' : 'BallTree'}`);
  }
  if (dataA.ndim !== 2 || dataA.shape[0] !== n || dataA.shape[1] !== nf) throw bad(`${o.shortName}._tree data does not match _fit_X`);
  const data = dataA.numbers();
  const idx = Int32Array.from(idxA.numbers());
  const start = nodesA.field('idx_start');
  const end = nodesA.field('idx_end');
  const leaf = nodesA.field('is_leaf');
  const radius = nodesA.field('radius');
  const nodes = start.length;
  const bounds = boundsA.numbers();
  const kd = method === 'kd_tree';
  // Bounds checked once here so the query can index without checks: a hostile file fails at load.
  if (idx.length !== n || idx.some((i) => !(i >= 0 && i < n))) throw bad(`${o.shortName}._tree idx_array is out of range`);
  if (nodes < 1 || boundsA.size !== (kd ? 2 : 1) * nodes * nf) throw bad(`${o.shortName}._tree node arrays do not match`);
  for (let i = 0; i < nodes; i++) {
    if (!(start[i]! >= 0 && start[i]! <= end[i]! && end[i]! <= n)) throw bad(`${o.shortName}._tree node ${i} has an invalid index range`);
    if (leaf[i] === 0 && 2 * i + 2 >= nodes) throw bad(`${o.shortName}._tree node ${i} has no children`);
  }
  const scratch = new Float64Array(nf);
  /** The reduced-distance lower bound from the query point to node i (min_rdist). */
  const minRdist = kd
    ? (X: Float64Array, xo: number, i: number): number => {
      let r = 0;
      for (let f = 0; f < nf; f++) {
        const lo = bounds[i * nf + f]! - X[xo + f]!;
        const hi = X[xo + f]! - bounds[(nodes + i) * nf + f]!;
        const dd = (lo + Math.abs(lo)) + (hi + Math.abs(hi));
        if (metric.p === Infinity) r = Math.max(r, 0.5 * dd);
        else r += metric.p === 1 ? 0.5 * dd : metric.p === 2 ? (0.5 * dd) * (0.5 * dd) : (0.5 * dd) ** metric.p;
      }
      return r;
    }
    : (X: Float64Array, xo: number, i: number): number => {
      for (let f = 0; f < nf; f++) scratch[f] = bounds[i * nf + f]!;
      const toCentroid = metric.toDist(metric.rdist(X, xo, scratch, 0, nf));
      return metric.toRdist(Math.max(0, toCentroid - radius[i]!));
    };
  return (X, xo, d, ix) => {
    const visit = (i: number, lb: number): void => {
      if (lb > d[0]!) return;
      if (leaf[i] !== 0) {
        for (let j = start[i]!; j < end[i]!; j++) {
          const p = idx[j]!;
          heapPush(d, ix, k, metric.rdist(X, xo, data, p * nf, nf), p);
        }
        return;
      }
      const c1 = 2 * i + 1;
      const c2 = c1 + 1;
      const lb1 = minRdist(X, xo, c1);
      const lb2 = minRdist(X, xo, c2);
      if (lb1 <= lb2) { visit(c1, lb1); visit(c2, lb2); } else { visit(c2, lb2); visit(c1, lb1); }
    };
    visit(0, minRdist(X, xo, 0));
    finishHeap(d, ix, k, metric);
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
