/**
 * Tree-runtime bench: rows/s and µs/row at batch 1 and batch 1000 on a 500-tree,
 * depth-6 XGBoost model, next to XGBoost's own inplace_predict with nthread=1
 * (timed by /usr/bin/python3 in the same run when python3-xgboost is importable).
 * The model is trained into bench-out/ by scripts/gen-xgboost-fixtures.py; without
 * python/xgboost an equivalent random 500 × depth-6 ensemble is built here instead.
 * Each side is timed twice, alternating, and keeps its best. A last line gives batch
 * 1 through V2 REST (bench/trees-http.ts).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildXgboost } from '../src/runtimes/xgboost/xgboost-runtime.js';
import { benchTreesHttp } from './trees-http.js';

const here = dirname(fileURLToPath(import.meta.url));
const ROOT = existsSync(join(here, '..', 'package.json')) ? join(here, '..') : join(here, '..', '..');
const OUT = join(ROOT, 'bench-out', 'trees');
const PY = '/usr/bin/python3';

interface PyTimes { xgboost_version: string; num_feature: number; rows: number; batch1_s: number; batch1000_s: number }

export async function benchTrees(): Promise<string[]> {
  const lines: string[] = [];
  mkdirSync(OUT, { recursive: true });
  let py: PyTimes | undefined;
  let note = '';
  const hasXgb = existsSync(PY) && spawnSync(PY, ['-c', 'import xgboost'], { stdio: 'ignore' }).status === 0;
  if (hasXgb) {
    const first = timeXgboost();
    if (typeof first === 'string') note = first;
    else py = first;
  } else {
    note = 'python3-xgboost not importable by /usr/bin/python3: XGBoost line skipped, random ensemble used';
  }

  let modelBytes: Uint8Array;
  let X: Float32Array;
  let expected: Float32Array | undefined;
  let nf: number;
  if (py) {
    modelBytes = readFileSync(join(OUT, 'model.json'));
    const raw = readFileSync(join(OUT, 'rows.f32'));
    X = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    const e = readFileSync(join(OUT, 'expected.f32'));
    expected = new Float32Array(e.buffer.slice(e.byteOffset, e.byteOffset + e.byteLength));
    nf = py.num_feature;
  } else {
    nf = 32;
    modelBytes = new TextEncoder().encode(JSON.stringify(randomModel(500, 6, nf)));
    writeFileSync(join(OUT, 'random-model.json'), modelBytes);
    X = new Float32Array(1000 * nf);
    let s = 12345;
    for (let i = 0; i < X.length; i++) { s = (s * 1103515245 + 12345) >>> 0; X[i] = (s / 2 ** 32) * 4 - 2; }
  }
  const built = buildXgboost(modelBytes, [], 'bench model');
  const rows = X.length / nf;
  if (expected) {
    const got = built.predict(X, rows);
    let diff = 0;
    for (let i = 0; i < got.length; i++) if (!Object.is(got[i], expected[i])) diff++;
    lines.push(`trees: ${built.trees} trees, ${built.layout} layout; outputs differing from XGBoost: ${diff}/${got.length}`);
  }
  const one = X.subarray(0, nf);
  let t1 = time(() => built.predict(one, 1));
  let t1000 = time(() => built.predict(X, rows));
  if (py) {
    // A/B/A/B on a shared machine: each side's best of two runs.
    const again = timeXgboost();
    if (typeof again !== 'string') py = { ...py, batch1_s: Math.min(py.batch1_s, again.batch1_s), batch1000_s: Math.min(py.batch1000_s, again.batch1000_s) };
    t1 = Math.min(t1, time(() => built.predict(one, 1)));
    t1000 = Math.min(t1000, time(() => built.predict(X, rows)));
  }
  lines.push(fmt('inferd  batch 1   ', t1, 1), fmt('inferd  batch 1000', t1000, rows));
  if (py) {
    lines.push(fmt(`xgboost ${py.xgboost_version} nthread=1 batch 1   `, py.batch1_s, 1), fmt(`xgboost ${py.xgboost_version} nthread=1 batch 1000`, py.batch1000_s, py.rows));
    lines.push(`speedup vs XGBoost: batch 1 ×${(py.batch1_s / t1).toFixed(2)}, batch 1000 ×${(py.batch1000_s / t1000).toFixed(2)}`);
  }
  const modelFile = py ? join(OUT, 'model.json') : join(OUT, 'random-model.json');
  lines.push(await benchTreesHttp(modelFile, Array.from(one, (v) => (Number.isNaN(v) ? 0 : v))));
  if (note) lines.push(`note: ${note}`);
  return lines;
}

/** Trains the bench model on the first call (then reuses it) and times XGBoost's inplace_predict; a string on failure. */
function timeXgboost(): PyTimes | string {
  const res = spawnSync(PY, [join(ROOT, 'scripts', 'gen-xgboost-fixtures.py'), '--bench', OUT], { encoding: 'utf8', timeout: 600_000 });
  const last = res.stdout?.trim().split('\n').pop();
  if (res.status === 0 && last) return JSON.parse(last) as PyTimes;
  return `XGBoost bench script failed: ${(res.stderr ?? '').slice(-300)}`;
}

function fmt(label: string, seconds: number, rows: number): string {
  return `${label}: ${(rows / seconds).toFixed(0).padStart(9)} rows/s  ${((seconds / rows) * 1e6).toFixed(2).padStart(8)} µs/row`;
}

/** Seconds per call: warm up, then repeat for at least a second. */
function time(fn: () => unknown): number {
  const warm = performance.now();
  while (performance.now() - warm < 300) fn();
  let n = 0;
  const t0 = performance.now();
  let el = 0;
  do { fn(); n++; el = performance.now() - t0; } while (el < 1000);
  return el / 1000 / n;
}

/** A random full-depth XGBoost JSON model, for machines without xgboost. */
function randomModel(nTrees: number, depth: number, nf: number): unknown {
  let s = 99;
  const rnd = (): number => { s = (s * 1103515245 + 12345) >>> 0; return s / 2 ** 32; };
  const trees = [];
  for (let t = 0; t < nTrees; t++) {
    const nodes = (2 << depth) - 1;
    const internal = (1 << depth) - 1;
    const left: number[] = [], right: number[] = [], feat: number[] = [], cond: number[] = [], dl: number[] = [];
    for (let i = 0; i < nodes; i++) {
      const leaf = i >= internal;
      left.push(leaf ? -1 : 2 * i + 1);
      right.push(leaf ? -1 : 2 * i + 2);
      feat.push(leaf ? 0 : Math.floor(rnd() * nf));
      cond.push(Math.fround(leaf ? (rnd() - 0.5) * 0.1 : rnd() * 4 - 2));
      dl.push(rnd() < 0.5 ? 1 : 0);
    }
    trees.push({
      id: t, left_children: left, right_children: right, split_indices: feat, split_conditions: cond, default_left: dl,
      split_type: new Array(nodes).fill(0), categories: [], categories_nodes: [], categories_segments: [], categories_sizes: [],
      tree_param: { num_nodes: String(nodes), num_feature: String(nf), num_deleted: '0', size_leaf_vector: '0' },
    });
  }
  return {
    learner: {
      attributes: {}, feature_names: [], feature_types: [],
      gradient_booster: { name: 'gbtree', model: { gbtree_model_param: { num_trees: String(nTrees), num_parallel_tree: '1' }, tree_info: new Array(nTrees).fill(0), trees } },
      learner_model_param: { base_score: '5E-1', num_class: '0', num_feature: String(nf), num_target: '1' },
      objective: { name: 'reg:squarederror' },
    },
    version: [1, 7, 4],
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const line of await benchTrees()) console.log(line);
}
