/**
 * sklearn `Tree` objects compiled into one set of flat typed arrays (a forest of
 * any size is one allocation per field). Traversal compares float32-cast inputs
 * with float64 thresholds, as sklearn's trees do.
 */
import { NdArray } from './ndarray.js';
import { bad, PyObject, type PyVal } from './py-values.js';

export interface FlatForest {
  nTrees: number;
  nFeatures: number;
  /** Values per node: max_n_classes for classifiers, 1 for regressors. */
  width: number;
  roots: Int32Array;
  left: Int32Array;
  right: Int32Array;
  feature: Int32Array;
  threshold: Float64Array;
  /** 1 where a NaN goes left (sklearn ≥ 1.3 trees); null when the trees know no missing values. */
  missingLeft: Uint8Array | null;
  value: Float64Array;
}

interface TreeParts {
  nodes: NdArray;
  values: NdArray;
  nFeatures: number;
  count: number;
  width: number;
}

function parts(tree: PyVal, where: string): TreeParts {
  if (!(tree instanceof PyObject) || !tree.cls.endsWith('._tree.Tree')) throw bad(`${where} is not a sklearn Tree`);
  const [nf, , nOutputs] = tree.args;
  const nodes = tree.dict.get('nodes');
  const values = tree.dict.get('values');
  if (typeof nf !== 'number' || !(nodes instanceof NdArray) || !(values instanceof NdArray)) throw bad(`${where} is a malformed sklearn Tree`);
  if (nOutputs !== 1) throw bad(`${where} has ${String(nOutputs)} outputs; multi-output trees are not supported`);
  const count = nodes.size;
  if (values.ndim !== 3 || values.shape[0] !== count) throw bad(`${where} values do not match its nodes`);
  return { nodes, values, nFeatures: nf, count, width: values.shape[2]! };
}

/** Compiles trees (sklearn `tree_` objects) into one flat forest, validating every link. */
export function compileForest(trees: PyVal[], where: string): FlatForest {
  const ps = trees.map((t, i) => parts(t, `${where}[${i}]`));
  if (ps.length === 0) throw bad(`${where} holds no trees`);
  const width = ps[0]!.width;
  const nFeatures = ps[0]!.nFeatures;
  const total = ps.reduce((s, p) => s + p.count, 0);
  // A tree shared by memo references is copied once per reference: each copy is charged.
  ps[0]!.nodes.budget.charge(ps.length * 4 + total * (4 * 3 + 8 + 1 + 8 * Math.max(width, 0)), `${where}: flattened trees`);
  const f: FlatForest = {
    nTrees: ps.length, nFeatures, width,
    roots: new Int32Array(ps.length), left: new Int32Array(total), right: new Int32Array(total),
    feature: new Int32Array(total), threshold: new Float64Array(total),
    missingLeft: ps.some((p) => p.nodes.hasField('missing_go_to_left')) ? new Uint8Array(total) : null,
    value: new Float64Array(total * width),
  };
  let base = 0;
  ps.forEach((p, t) => {
    if (p.width !== width || p.nFeatures !== nFeatures) throw bad(`${where}[${t}] differs in shape from the first tree`);
    const left = p.nodes.field('left_child');
    const right = p.nodes.field('right_child');
    const feat = p.nodes.field('feature');
    const thr = p.nodes.field('threshold');
    const miss = p.nodes.hasField('missing_go_to_left') ? p.nodes.field('missing_go_to_left') : null;
    for (let i = 0; i < p.count; i++) {
      const l = left[i]!;
      const r = right[i]!;
      const leaf = l === -1;
      // Children always follow their parent in sklearn's depth-first layout; this also rules out cycles.
      if (!leaf && (!(l > i && l < p.count) || !(r > i && r < p.count) || !(feat[i]! >= 0 && feat[i]! < nFeatures))) {
        throw bad(`${where}[${t}] node ${i} has invalid children or feature`);
      }
      f.left[base + i] = leaf ? -1 : base + l;
      f.right[base + i] = leaf ? -1 : base + r;
      f.feature[base + i] = leaf ? 0 : feat[i]!;
      f.threshold[base + i] = thr[i]!;
      if (f.missingLeft && miss) f.missingLeft[base + i] = miss[i]!;
    }
    f.value.set(p.values.numbers(), base * width);
    f.roots[t] = base;
    base += p.count;
  });
  return f;
}

/** Index of the leaf that row `xo` of `x` reaches in tree `t`. */
export function leafOf(f: FlatForest, t: number, x: Float64Array, xo: number): number {
  let n = f.roots[t]!;
  const { left, right, feature, threshold, missingLeft } = f;
  for (;;) {
    const l = left[n]!;
    if (l < 0) return n;
    const v = x[xo + feature[n]!]!;
    if (v !== v && missingLeft) n = missingLeft[n] ? l : right[n]!;
    else n = Math.fround(v) <= threshold[n]! ? l : right[n]!;
  }
}

/** sklearn < 1.3 trees refuse NaN input; so do we, naming the row. */
export function rejectNaN(f: FlatForest, x: Float64Array, rows: number, cols: number, who: string): void {
  if (f.missingLeft) return;
  for (let i = 0; i < rows * cols; i++) {
    if (Number.isNaN(x[i]!)) throw bad(`row ${Math.floor(i / cols)}: column ${i % cols} is NaN, which ${who} does not accept`);
  }
}

/** The `tree_` of every estimator in a list, in order. */
export function treesOf(estimators: PyVal[], where: string): PyVal[] {
  return estimators.map((e, i) => {
    if (!(e instanceof PyObject)) throw bad(`${where}[${i}] is not an estimator`);
    const t = e.dict.get('tree_');
    if (t === undefined) throw bad(`${where}[${i}] (${e.shortName}) has no tree_`);
    return t;
  });
}
