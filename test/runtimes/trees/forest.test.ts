/**
 * The dense tree kernel (missing values resolved once per row, rows and trees
 * interleaved) against a plain node-by-node walk of the same trees: the same sums,
 * bit for bit, for every split it can meet (NaN / ±inf / -0 inputs, NaN, ±inf
 * thresholds, either default direction, leaves above the bottom, several output
 * groups), in float32 and float64, at every batch size and block boundary.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CompiledForest, type Precision, type RawTree } from '../../../src/runtimes/trees/forest.js';

/** Deterministic LCG so a failure reproduces. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => { s = (Math.imul(s, 1103515245) + 12345) >>> 0; return s / 2 ** 32; };
}

const SPECIAL_THRESHOLDS = [NaN, -Infinity, Infinity, 0, -0];

interface Shape { trees: number; depth: number; nf: number; groups: number; specials: boolean }

function randomTrees(shape: Shape, seed: number): RawTree[] {
  const r = rng(seed);
  const trees: RawTree[] = [];
  for (let t = 0; t < shape.trees; t++) {
    const left: number[] = [], right: number[] = [], feature: number[] = [], threshold: number[] = [], defaultLeft: number[] = [], value: number[] = [];
    const grow = (depth: number): number => {
      const id = left.length;
      left.push(-1); right.push(-1); feature.push(0); threshold.push(0); defaultLeft.push(0);
      value.push(Math.fround((r() - 0.5) * 2));
      // Leaves above the bottom too, so the dense layout pads.
      if (depth < shape.depth && (depth === 0 || r() < 0.8)) {
        feature[id] = Math.floor(r() * shape.nf);
        threshold[id] = shape.specials && r() < 0.15
          ? SPECIAL_THRESHOLDS[Math.floor(r() * SPECIAL_THRESHOLDS.length)]!
          : Math.fround(Math.round((r() * 4 - 2) * 8) / 8);
        defaultLeft[id] = r() < 0.5 ? 1 : 0;
        left[id] = grow(depth + 1);
        right[id] = grow(depth + 1);
      }
      return id;
    };
    grow(0);
    trees.push({ group: t % shape.groups, size: left.length, left, right, feature, threshold, defaultLeft, value });
  }
  return trees;
}

/** Rows with missing values, infinities, signed zeros and values equal to thresholds (x >= t goes right). */
function randomRows(n: number, nf: number, precision: Precision, seed: number): Float32Array | Float64Array {
  const r = rng(seed);
  const X = precision === 'f32' ? new Float32Array(n * nf) : new Float64Array(n * nf);
  const specials = [NaN, Infinity, -Infinity, 0, -0];
  for (let i = 0; i < X.length; i++) {
    const p = r();
    if (p < 0.1) X[i] = specials[Math.floor(r() * specials.length)]!;
    else if (p < 0.3) X[i] = Math.round((r() * 4 - 2) * 8) / 8;
    else X[i] = r() * 5 - 2.5;
  }
  return X;
}

/** The rule every parser normalizes to: NaN → default child, else x >= t → right. */
function reference(trees: RawTree[], X: ArrayLike<number>, n: number, nf: number, K: number, precision: Precision): Float32Array | Float64Array {
  const round = precision === 'f32' ? Math.fround : (v: number) => v;
  const out = precision === 'f32' ? new Float32Array(n * K) : new Float64Array(n * K);
  for (let row = 0; row < n; row++) {
    for (const t of trees) {
      let node = 0;
      while (t.left[node]! >= 0) {
        const x = X[row * nf + t.feature[node]!]!;
        const right = Number.isNaN(x) ? !t.defaultLeft[node] : x >= round(t.threshold[node]!);
        node = right ? t.right[node]! : t.left[node]!;
      }
      const at = row * K + t.group;
      out[at] = out[at]! + t.value[node]!;
    }
  }
  return out;
}

function same(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    if (!Object.is(actual[i], expected[i])) assert.fail(`${what}: element ${i} is ${actual[i]}, the node walk gives ${expected[i]}`);
  }
}

for (const precision of ['f32', 'f64'] as const) {
  for (const shape of [
    { trees: 37, depth: 6, nf: 9, groups: 1, specials: false },
    { trees: 37, depth: 6, nf: 9, groups: 1, specials: true },
    { trees: 30, depth: 4, nf: 5, groups: 3, specials: true },
    { trees: 9, depth: 1, nf: 2, groups: 1, specials: true },
    // Row copies wider than 16-bit feature offsets reach: the dense layout's 32-bit offsets.
    { trees: 5, depth: 3, nf: 20_000, groups: 1, specials: true },
  ]) {
    test(`dense kernel equals the node walk (${precision}, ${shape.trees} trees depth ≤ ${shape.depth}, ${shape.groups} group(s)${shape.specials ? ', NaN/±inf thresholds' : ''})`, () => {
      const trees = randomTrees(shape, 7 + shape.trees + shape.depth);
      const n = shape.nf > 1000 ? 80 : 600; // two full blocks and a part, full row groups and leftovers (wide rows: blocks of a few rows)
      const X = randomRows(n, shape.nf, precision, 99);
      const want = reference(trees, X, n, shape.nf, shape.groups, precision);
      for (const layout of ['dense', 'general'] as const) {
        const forest = new CompiledForest(trees, { nFeatures: shape.nf, nGroups: shape.groups, precision, what: 'test', layout });
        assert.equal(forest.layout, layout);
        const out = precision === 'f32' ? new Float32Array(n * shape.groups) : new Float64Array(n * shape.groups);
        forest.accumulate(X, 0, n, out);
        same(out, want, `${layout} batch ${n}`);
        // Batch N == N × batch 1, and every batch size from 1 to 20 at an offset.
        for (let row = 0; row < n; row++) {
          const one = X.subarray(row * shape.nf, (row + 1) * shape.nf);
          const o = precision === 'f32' ? new Float32Array(shape.groups) : new Float64Array(shape.groups);
          forest.accumulate(one, 0, 1, o);
          same(o, want.subarray(row * shape.groups, (row + 1) * shape.groups), `${layout} row ${row} alone`);
        }
        for (let size = 1; size <= 20; size++) {
          const r0 = 3 * size;
          const part = X.subarray(r0 * shape.nf, (r0 + size) * shape.nf);
          const o = precision === 'f32' ? new Float32Array(size * shape.groups) : new Float64Array(size * shape.groups);
          forest.accumulate(part, 0, size, o);
          same(o, want.subarray(r0 * shape.groups, (r0 + size) * shape.groups), `${layout} batch ${size} at row ${r0}`);
        }
      }
    });
  }
}

test('a split with a NaN threshold sends only missing values to its right default; one at -inf only present values right', () => {
  // Two one-split trees: x >= NaN (default right) and x >= -inf (default left).
  const split = (threshold: number, defaultLeft: number, group: number): RawTree => ({
    group, size: 3, left: [1, -1, -1], right: [2, -1, -1], feature: [0, 0, 0], threshold: [threshold, 0, 0],
    defaultLeft: [defaultLeft, 0, 0], value: [0, 1, 2],
  });
  const trees = [split(NaN, 0, 0), split(-Infinity, 1, 1)];
  const X = Float32Array.from([NaN, -Infinity, 0, 5, Infinity]);
  for (const layout of ['dense', 'general'] as const) {
    const forest = new CompiledForest(trees, { nFeatures: 1, nGroups: 2, precision: 'f32', what: 'test', layout });
    const out = new Float32Array(10);
    forest.accumulate(X, 0, 5, out);
    assert.deepEqual([...out], [2, 1, 1, 2, 1, 2, 1, 2, 1, 2], layout);
  }
});

// 9,000 features: 8 rows per dense block; 30,000: 4 (all rows take the leftover path);
// 140,000: a row's copies exceed the scratch bound, so the general layout reads rows in place.
for (const [nf, n, layout] of [[9000, 43, 'dense'], [30_000, 11, 'dense'], [140_000, 5, 'general']] as const) {
  test(`inputs of ${nf} features take the ${layout} layout and keep every row right`, () => {
    const shape = { trees: 12, depth: 5, nf, groups: 2, specials: true };
    const trees = randomTrees(shape, 5);
    const X = randomRows(n, nf, 'f32', 6);
    const want = reference(trees, X, n, nf, shape.groups, 'f32');
    const forest = new CompiledForest(trees, { nFeatures: nf, nGroups: shape.groups, precision: 'f32', what: 'test' });
    assert.equal(forest.layout, layout);
    const out = new Float32Array(n * shape.groups);
    forest.accumulate(X, 0, n, out);
    same(out, want, `${nf} features`);
  });
}
