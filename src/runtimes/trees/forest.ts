/**
 * Shared tree-ensemble evaluation for the XGBoost and LightGBM runtimes.
 *
 * Parsers turn their model files into RawTrees with one normalized decision rule:
 * a numeric node sends x LEFT iff `x < threshold`, and a missing value (NaN) to its
 * default child. LightGBM's `x <= t` becomes `x < nextUp(t)` (exact in float64);
 * its missing types are folded into the default direction or the `zero` kind.
 *
 * compileForest validates the trees (indices in range, every node reached exactly
 * once from the root: no cycles, no sharing) and lays them out in flat typed arrays.
 * Evaluation kernels are generated with `new Function` from a fixed template and
 * integer constants only (tree depth, node counts, block size): nothing from the
 * model file ever becomes code. Thresholds and leaf values stay in typed arrays.
 *
 * Two layouts:
 *  - dense: every tree padded to a perfect binary tree of the forest's depth, BFS
 *    order, children of i at 2i+1/2i+2; traversal is a fixed, unrolled sequence of
 *    compare-and-index steps with no data-dependent loop exit. Missing values are
 *    resolved once per row (see RowCopy), not per split. Used when all nodes are
 *    plain numeric and the padding stays small.
 *  - general: node arrays with explicit children and node kinds (categorical,
 *    zero-as-missing), walked until a leaf.
 *
 * Rows are processed in blocks, trees outer and rows inner, so each tree's nodes
 * stay in L1 while a block of rows goes through it, and no row allocates.
 */
import type { DecodeBudget } from '../decode-budget.js';

export const enum NodeKind {
  /**
   * x >= threshold → right, else left (x < threshold); NaN → default child. A NaN
   * threshold sends every non-missing value left (LightGBM's `x <= +inf`).
   */
  Numeric = 0,
  /** As Numeric, but x == 0 is missing too (LightGBM missing type Zero). */
  NumericZeroMissing = 1,
  /**
   * XGBoost categorical: NaN → default; x < 0 or x ≥ 2^24 → left; trunc(x) in the
   * set → right; else left.
   */
  CatXgb = 2,
  /**
   * Categorical with LightGBM's bounds (trunc(x) < 0 invalid) but the same
   * orientation as CatXgb: parsers swap LightGBM's children so that its "in set →
   * left, otherwise right, NaN → right" becomes "in set → right, otherwise left,
   * NaN → default (left)".
   */
  CatLgb = 3,
}

export interface RawTree {
  /** Output group (class) the tree adds to. */
  group: number;
  /** Number of nodes; node 0 is the root. */
  size: number;
  /** Child indices, -1 in both for a leaf. */
  left: ArrayLike<number>;
  right: ArrayLike<number>;
  feature: ArrayLike<number>;
  threshold: ArrayLike<number>;
  defaultLeft: ArrayLike<number | boolean>;
  /** NodeKind per node; omitted means all Numeric. */
  kind?: ArrayLike<number>;
  /** Leaf value per node (read for leaves only). */
  value: ArrayLike<number>;
  /** Category list per categorical node. */
  categories?: Map<number, readonly number[]>;
}

export type Precision = 'f32' | 'f64';
type FloatArray = Float32Array | Float64Array;

export interface ForestOptions {
  nFeatures: number;
  nGroups: number;
  precision: Precision;
  /** Tree-shape error prefix, e.g. "XGBoost model". */
  what: string;
  /** Force a layout (tests). */
  layout?: 'dense' | 'general';
  /** Charged with the compiled arrays before they are allocated. */
  budget?: DecodeBudget;
}

export class ForestError extends Error {}

const BLOCK = 256;
/**
 * A dense block's row copies are swept once per tree: sized to stay in L1 (measured
 * on the 500 × depth-6 bench: 64-128 rows of 32 features beat 256 by ~5%), but at
 * least UNROLL_ROWS rows where that fits in SCRATCH_MAX_BYTES, so wide inputs still
 * take the row-interleaved path. A forest whose one row exceeds SCRATCH_MAX_BYTES
 * is not made dense, so no model's feature count alone allocates more.
 */
const SCRATCH_L1_BYTES = 32 * 1024;
const SCRATCH_MAX_BYTES = 1024 * 1024;
const MAX_DENSE_DEPTH = 10;
const MAX_DENSE_NODES = 1 << 23;
const MAX_CATEGORY = 1 << 24;
/** Deepest tree accepted at all (guards the traversal against degenerate chains). */
const MAX_DEPTH = 4096;

type FillRows = (X: FloatArray, nf: number, r0: number, n: number, S: FloatArray) => void;
type DenseKernel = (X: FloatArray, nf: number, r0: number, r1: number, out: FloatArray, K: number,
  feat: Uint16Array | Int32Array, thr: FloatArray, leaf: FloatArray, group: Int32Array, T: number, S: FloatArray, fill: FillRows) => void;
type GeneralKernel = (X: FloatArray, nf: number, r0: number, r1: number, out: FloatArray, K: number,
  root: Int32Array, group: Int32Array, T: number, feat: Int32Array, thr: FloatArray, left: Int32Array, right: Int32Array,
  dl: Uint8Array, kind: Uint8Array, catOff: Int32Array, catLen: Int32Array, cats: Uint32Array, value: FloatArray) => void;

export class CompiledForest {
  readonly layout: 'dense' | 'general';
  readonly nTrees: number;
  readonly depth: number;
  private readonly run: (X: FloatArray, r0: number, r1: number, out: FloatArray) => void;
  readonly bytes: number;

  constructor(trees: readonly RawTree[], private readonly opts: ForestOptions) {
    const { nFeatures, nGroups, what } = opts;
    if (!Number.isInteger(nFeatures) || nFeatures < 1) throw new ForestError(`${what}: feature count ${nFeatures} is invalid`);
    if (!Number.isInteger(nGroups) || nGroups < 1) throw new ForestError(`${what}: output group count ${nGroups} is invalid`);
    let maxDepth = 0;
    let allNumeric = true;
    const depths: number[] = [];
    trees.forEach((t, i) => {
      const d = validateTree(t, i, opts);
      depths.push(d);
      if (d > maxDepth) maxDepth = d;
      if (t.kind) for (let n = 0; n < t.size; n++) if (t.kind[n] !== NodeKind.Numeric && t.left[n]! >= 0) allNumeric = false;
    });
    this.nTrees = trees.length;
    this.depth = maxDepth;
    const floatBytes = opts.precision === 'f32' ? 4 : 8;
    const round = opts.precision === 'f32' ? Math.fround : (x: number): number => x;
    const copies = allNumeric && trees.some((t) => needsIndicator(t, round)) ? 4 : 2;
    // Very wide inputs (a row's copies over SCRATCH_MAX_BYTES) keep the general layout, which reads rows in place.
    const denseOk = allNumeric && maxDepth <= MAX_DENSE_DEPTH && trees.length * (2 << maxDepth) <= MAX_DENSE_NODES &&
      copies * nFeatures * floatBytes <= SCRATCH_MAX_BYTES;
    const layout = opts.layout ?? (denseOk ? 'dense' : 'general');
    if (layout === 'dense' && !denseOk) throw new ForestError(`${what}: dense layout not possible`);
    this.layout = layout;
    const F = opts.precision === 'f32' ? Float32Array : Float64Array;
    const groups = Int32Array.from(trees, (t) => t.group);
    const K = nGroups;
    const T = trees.length;
    if (layout === 'dense') {
      const D = maxDepth;
      const NI = (1 << D) - 1;
      const NL = 1 << D;
      const W = copies * nFeatures;
      const rowBytes = W * floatBytes;
      const rowsPerBlock = Math.max(Math.min(BLOCK, Math.floor(SCRATCH_L1_BYTES / rowBytes)),
        Math.min(UNROLL_ROWS, Math.floor(SCRATCH_MAX_BYTES / rowBytes)));
      // Narrow feature offsets keep more of the forest in cache: 500 × depth 6 ran 6% faster with 16-bit ones.
      const narrow = W <= 0x10000;
      opts.budget?.charge(T * NI * ((narrow ? 2 : 4) + floatBytes) + T * NL * floatBytes + rowsPerBlock * W * floatBytes, `${what}: compiled trees`);
      const feat = narrow ? new Uint16Array(Math.max(1, T * NI)) : new Int32Array(Math.max(1, T * NI));
      const thr = new F(Math.max(1, T * NI));
      const leaf = new F(Math.max(1, T * NL));
      trees.forEach((t, ti) => fillDense(t, ti * NI, ti * NL, D, nFeatures, feat, thr, leaf));
      const kernel = denseKernel(D, W, rowsPerBlock);
      const scratch = new F(rowsPerBlock * W);
      const fill = copies === 4 ? fillRows4 : fillRows2;
      this.run = (X, r0, r1, out) => kernel(X, nFeatures, r0, r1, out, K, feat, thr, leaf, groups, T, scratch, fill);
      this.bytes = feat.byteLength + thr.byteLength + leaf.byteLength + scratch.byteLength;
    } else {
      let total = 0;
      const root = new Int32Array(T);
      trees.forEach((t, i) => { root[i] = total; total += t.size; });
      opts.budget?.charge(T * 4 + total * (4 * 5 + 2 * floatBytes + 2), `${what}: compiled trees`);
      const feat = new Int32Array(total);
      const thr = new F(total);
      const left = new Int32Array(total);
      const right = new Int32Array(total);
      const dl = new Uint8Array(total);
      const kind = new Uint8Array(total);
      const catOff = new Int32Array(total);
      const catLen = new Int32Array(total);
      const value = new F(total);
      const catWords: number[] = [];
      trees.forEach((t, ti) => {
        const base = root[ti]!;
        for (let n = 0; n < t.size; n++) {
          const g = base + n;
          const l = t.left[n]!;
          if (l < 0) {
            feat[g] = -1;
            value[g] = t.value[n]!;
            continue;
          }
          feat[g] = t.feature[n]!;
          thr[g] = t.threshold[n]!;
          left[g] = base + l;
          right[g] = base + t.right[n]!;
          dl[g] = t.defaultLeft[n] ? 1 : 0;
          const k = t.kind ? t.kind[n]! : NodeKind.Numeric;
          kind[g] = k;
          if (k === NodeKind.CatXgb || k === NodeKind.CatLgb) {
            const list = t.categories?.get(n) ?? [];
            let max = -1;
            for (const c of list) if (c > max) max = c;
            const words = max < 0 ? 0 : (max >>> 5) + 1;
            catOff[g] = catWords.length;
            catLen[g] = words;
            const start = catWords.length;
            for (let w = 0; w < words; w++) catWords.push(0);
            for (const c of list) catWords[start + (c >>> 5)] = (catWords[start + (c >>> 5)]! | (1 << (c & 31))) >>> 0;
          }
        }
      });
      const cats = Uint32Array.from(catWords);
      const kernel = generalKernel();
      this.run = (X, r0, r1, out) => kernel(X, nFeatures, r0, r1, out, K, root, groups, T, feat, thr, left, right, dl, kind, catOff, catLen, cats, value);
      this.bytes = feat.byteLength * 6 + thr.byteLength * 2 + dl.byteLength * 2 + cats.byteLength;
    }
  }

  /**
   * Adds every tree's leaf value to `out[row * nGroups + group]`, rows [r0, r1) of
   * the row-major `X`; `out` carries the starting margin (base score or 0). In f32
   * precision `out` is a Float32Array, so each addition rounds to float32 as
   * XGBoost's predictor does.
   */
  accumulate(X: FloatArray, r0: number, r1: number, out: FloatArray): void {
    if (this.nTrees === 0 || r1 <= r0) return;
    this.run(X, r0, r1, out);
  }
}

/** Checks one tree and returns its depth (edges on the longest root-leaf path). */
function validateTree(t: RawTree, index: number, opts: ForestOptions): number {
  const where = `${opts.what}: tree ${index}`;
  const n = t.size;
  if (!Number.isInteger(n) || n < 1) throw new ForestError(`${where} has ${n} nodes`);
  for (const [name, arr] of [['left', t.left], ['right', t.right], ['feature', t.feature], ['threshold', t.threshold],
    ['default direction', t.defaultLeft], ['value', t.value]] as const) {
    if (arr.length < n) throw new ForestError(`${where}: ${name} array has ${arr.length} entries for ${n} nodes`);
  }
  if (t.kind && t.kind.length < n) throw new ForestError(`${where}: split type array is too short`);
  if (!Number.isInteger(t.group) || t.group < 0 || t.group >= opts.nGroups) {
    throw new ForestError(`${where} belongs to output group ${t.group}, outside 0..${opts.nGroups - 1}`);
  }
  const seen = new Uint8Array(n);
  const depthOf = new Int32Array(n);
  const stack: number[] = [0];
  seen[0] = 1;
  let maxDepth = 0;
  let visited = 0;
  while (stack.length > 0) {
    const node = stack.pop()!;
    visited++;
    const l = t.left[node]!;
    const r = t.right[node]!;
    const d = depthOf[node]!;
    if (d > maxDepth) maxDepth = d;
    if (l === -1 && r === -1) {
      if (Number.isNaN(t.value[node])) throw new ForestError(`${where}: leaf ${node} has a NaN value`);
      continue;
    }
    for (const c of [l, r]) {
      if (!Number.isInteger(c) || c < 1 || c >= n) throw new ForestError(`${where}: node ${node} has child index ${c}, outside 1..${n - 1}`);
      if (seen[c]) throw new ForestError(`${where}: node ${c} is reached twice (a cycle or shared subtree)`);
      seen[c] = 1;
      depthOf[c] = d + 1;
      stack.push(c);
    }
    if (d + 1 > MAX_DEPTH) throw new ForestError(`${where} is deeper than ${MAX_DEPTH}`);
    const f = t.feature[node]!;
    if (!Number.isInteger(f) || f < 0 || f >= opts.nFeatures) {
      throw new ForestError(`${where}: node ${node} splits on feature ${f}, outside 0..${opts.nFeatures - 1}`);
    }
    const k = t.kind ? t.kind[node]! : NodeKind.Numeric;
    if (k === NodeKind.Numeric || k === NodeKind.NumericZeroMissing) {
      // NaN thresholds are legal (all values left); parsers reject them where their library differs.
    } else if (k === NodeKind.CatXgb || k === NodeKind.CatLgb) {
      const list = t.categories?.get(node);
      if (!list) throw new ForestError(`${where}: categorical node ${node} has no category list`);
      for (const c of list) {
        if (!Number.isInteger(c) || c < 0 || c >= MAX_CATEGORY) throw new ForestError(`${where}: node ${node} has invalid category ${c}`);
      }
    } else {
      throw new ForestError(`${where}: node ${node} has unknown split type ${k}`);
    }
  }
  // Unreached nodes are allowed (XGBoost keeps deleted nodes in its arrays).
  void visited;
  return maxDepth;
}

/**
 * The dense kernel reads each row through copies that resolve missing values
 * before any tree sees them, so a split is one `>=` whichever its default child:
 *  0: NaN → +inf (default right: +inf >= any threshold but NaN);
 *  1: NaN → -inf (default left: -inf >= no threshold but -inf);
 *  2: 1 if NaN else 0 (default right with a NaN threshold: only missing goes right);
 *  3: 0 if NaN else 1 (default left with a -inf threshold: only present goes right).
 * Copies 2 and 3 (threshold 1) exist only when a forest has such a split.
 */
const enum RowCopy { NanHigh = 0, NanLow = 1, IsNan = 2, NotNan = 3 }

function splitCopy(threshold: number, defaultLeft: boolean): RowCopy {
  if (defaultLeft) return threshold === -Infinity ? RowCopy.NotNan : RowCopy.NanLow;
  return Number.isNaN(threshold) ? RowCopy.IsNan : RowCopy.NanHigh;
}

/** `round` is the threshold array's precision: the copy is chosen for the threshold as stored. */
function needsIndicator(t: RawTree, round: (x: number) => number): boolean {
  for (let n = 0; n < t.size; n++) {
    if (t.left[n]! >= 0 && splitCopy(round(t.threshold[n]!), Boolean(t.defaultLeft[n])) >= RowCopy.IsNan) return true;
  }
  return false;
}

function fillRows2(X: FloatArray, nf: number, r0: number, n: number, S: FloatArray): void {
  const W = 2 * nf;
  for (let j = 0; j < n; j++) {
    const o = (r0 + j) * nf;
    const s = j * W;
    for (let f = 0; f < nf; f++) {
      const v = X[o + f]!;
      if (v !== v) { S[s + f] = Infinity; S[s + nf + f] = -Infinity; } else { S[s + f] = v; S[s + nf + f] = v; }
    }
  }
}

function fillRows4(X: FloatArray, nf: number, r0: number, n: number, S: FloatArray): void {
  const W = 4 * nf;
  for (let j = 0; j < n; j++) {
    const o = (r0 + j) * nf;
    const s = j * W;
    for (let f = 0; f < nf; f++) {
      const v = X[o + f]!;
      const missing = v !== v;
      S[s + f] = missing ? Infinity : v;
      S[s + nf + f] = missing ? -Infinity : v;
      S[s + 2 * nf + f] = missing ? 1 : 0;
      S[s + 3 * nf + f] = missing ? 0 : 1;
    }
  }
}

function fillDense(t: RawTree, nb: number, lb: number, D: number, nf: number, feat: Uint16Array | Int32Array, thr: FloatArray, leaf: FloatArray): void {
  // Walk the source tree, placing node `src` at perfect-layout position `pos` (BFS index).
  const stack: Array<[number, number, number]> = [[0, 0, 0]];
  while (stack.length > 0) {
    const [src, pos, depth] = stack.pop()!;
    const l = t.left[src]!;
    if (l < 0) {
      // A leaf above the bottom: its whole padded subtree holds its value, so the
      // (zeroed) splits below it can go either way.
      const span = 1 << (D - depth);
      const first = ((pos + 1) << (D - depth)) - 1 - ((1 << D) - 1);
      for (let i = 0; i < span; i++) leaf[lb + first + i] = t.value[src]!;
      continue;
    }
    thr[nb + pos] = t.threshold[src]!;
    const copy = splitCopy(thr[nb + pos]!, Boolean(t.defaultLeft[src]));
    feat[nb + pos] = copy * nf + t.feature[src]!;
    if (copy >= RowCopy.IsNan) thr[nb + pos] = 1;
    stack.push([l, 2 * pos + 1, depth + 1], [t.right[src]!, 2 * pos + 2, depth + 1]);
  }
}

function checkInt(n: number): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error('kernel constant must be a non-negative integer');
  return n;
}

/** Rows traversed together per tree in the dense kernel (independent chains for the CPU to overlap). */
const UNROLL_ROWS = 8;
/** Trees traversed together for one row, for the rows left over after UNROLL_ROWS groups (batch 1). */
const UNROLL_TREES = 4;

/**
 * Perfect-tree kernel for depth D over the missing-value-resolved rows of
 * `DenseRows`: a step is `i = 2i + 1 + (S[o + feat[k]] >= thr[k])`, with no NaN
 * test, no data-dependent branch and no loop exit inside a tree. Groups of
 * UNROLL_ROWS rows go through each tree side by side (trees outer, so a tree's
 * nodes stay in L1 across the block); the remaining rows go through UNROLL_TREES
 * trees at a time, which is what keeps batch 1 short. Each row's outputs get the
 * trees' leaves added in tree order, so float32 sums round as XGBoost's do.
 * Built from integers only.
 */
function denseKernel(D: number, W: number, B: number): DenseKernel {
  checkInt(D);
  checkInt(W);
  checkInt(B);
  const NI = checkInt((1 << D) - 1);
  const NL = checkInt(1 << D);
  const U = checkInt(UNROLL_ROWS);
  const V = checkInt(UNROLL_TREES);
  let rows = '';
  for (let u = 0; u < U; u++) rows += `const o${u} = (j + ${u}) * ${W}; let i${u} = 0, k${u} = 0;\n`;
  for (let d = 0; d < D; d++) {
    for (let u = 0; u < U; u++) rows += `k${u} = nb + i${u}; i${u} = 2 * i${u} + 1 + (+(S[o${u} + feat[k${u}]] >= thr[k${u}]));\n`;
  }
  for (let u = 0; u < U; u++) rows += `out[(b + j + ${u}) * K + g] += leaf[lb + i${u}];\n`;
  const trees = (count: number): string => {
    let s = '';
    for (let v = 0; v < count; v++) s += `let i${v} = 0, k${v} = 0; const nb${v} = (t + ${v}) * ${NI};\n`;
    for (let d = 0; d < D; d++) {
      for (let v = 0; v < count; v++) s += `k${v} = nb${v} + i${v}; i${v} = 2 * i${v} + 1 + (+(S[o + feat[k${v}]] >= thr[k${v}]));\n`;
    }
    for (let v = 0; v < count; v++) s += `out[oi + group[t + ${v}]] += leaf[(t + ${v}) * ${NL} - ${NI} + i${v}];\n`;
    return s;
  };
  const src = `"use strict";
return function denseForest(X, nf, r0, r1, out, K, feat, thr, leaf, group, T, S, fill) {
  for (let b = r0; b < r1; b += ${B}) {
    const n = (b + ${B} < r1 ? b + ${B} : r1) - b;
    fill(X, nf, b, n, S);
    const full = n - n % ${U};
    for (let t = 0; t < T; t++) {
      const nb = t * ${NI};
      const lb = t * ${NL} - ${NI};
      const g = group[t];
      for (let j = 0; j < full; j += ${U}) {
${rows}      }
    }
    for (let j = full; j < n; j++) {
      const o = j * ${W};
      const oi = (b + j) * K;
      let t = 0;
      for (; t + ${V} <= T; t += ${V}) {
${trees(V)}      }
      for (; t < T; t++) {
${trees(1)}      }
    }
  }
};`;
  // Fresh function per forest so each gets its own type feedback (f32 vs f64 arrays).
  return new Function(src)() as DenseKernel;
}

function generalKernel(): GeneralKernel {
  const B = checkInt(BLOCK);
  const MAXC = checkInt(MAX_CATEGORY);
  const src = `"use strict";
return function generalForest(X, nf, r0, r1, out, K, root, group, T, feat, thr, left, right, dl, kind, catOff, catLen, cats, value) {
  for (let b = r0; b < r1; b += ${B}) {
    const be = b + ${B} < r1 ? b + ${B} : r1;
    for (let t = 0; t < T; t++) {
      const start = root[t];
      const g = group[t];
      for (let r = b; r < be; r++) {
        const o = r * nf;
        let n = start;
        let f = feat[n];
        while (f >= 0) {
          const x = X[o + f];
          const k = kind[n];
          let goLeft;
          if (x !== x) {
            goLeft = dl[n] === 1;
          } else if (k === 0) {
            goLeft = !(x >= thr[n]);
          } else if (k === 1) {
            goLeft = x === 0 ? dl[n] === 1 : !(x >= thr[n]);
          } else {
            if (k === 2 ? (x < 0 || x >= ${MAXC}) : (x <= -1 || x >= ${MAXC})) {
              goLeft = true;
            } else {
              const c = x | 0;
              const w = c >>> 5;
              goLeft = w >= catLen[n] || ((cats[catOff[n] + w] >>> (c & 31)) & 1) === 0;
            }
          }
          n = goLeft ? left[n] : right[n];
          f = feat[n];
        }
        out[r * K + g] += value[n];
      }
    }
  }
};`;
  return new Function(src)() as GeneralKernel;
}

/** Smallest float64 greater than x (x finite). */
export function nextUp(x: number): number {
  if (Number.isNaN(x) || x === Infinity) return x;
  if (x === 0) return Number.MIN_VALUE;
  const buf = new DataView(new ArrayBuffer(8));
  buf.setFloat64(0, x);
  let bits = buf.getBigUint64(0);
  bits = x > 0 ? bits + 1n : bits - 1n;
  buf.setBigUint64(0, bits);
  return buf.getFloat64(0);
}
