import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InferdError } from '../../../src/api/errors.js';
import { lightgbmRuntime } from '../../../src/runtimes/lightgbm/lightgbm-runtime.js';
import { FIXTURES, ctx } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'inferd-lgb-'));
const text = readFileSync(join(FIXTURES, 'lgbm-reg-categorical', 'model.txt'), 'utf8');
let counter = 0;

function writeModel(content: string | Uint8Array, name = 'model.txt'): string {
  const dir = join(tmp, String(counter++));
  mkdirSync(dir);
  writeFileSync(join(dir, name), content);
  return dir;
}

async function refused(dir: string, pattern: RegExp): Promise<void> {
  await assert.rejects(lightgbmRuntime.load(ctx(dir)), (err: unknown) => {
    assert.ok(InferdError.is(err), `expected an InferdError, got ${String(err)}`);
    assert.equal(err.code, 'invalid_input');
    assert.match(err.message, pattern);
    return true;
  });
}

/** Replaces a field's line in the first tree block. */
function editFirstTree(key: string, value: string): string {
  const start = text.indexOf('Tree=0');
  const at = text.indexOf(`\n${key}=`, start);
  const end = text.indexOf('\n', at + 1);
  return text.slice(0, at + 1) + `${key}=${value}` + text.slice(end);
}

test('truncated LightGBM models are refused', async () => {
  await refused(writeModel(text.slice(0, text.length / 2)), /truncated|has no|has \d+ values/);
});

test('other formats are refused', async () => {
  await refused(writeModel('{"learner": {}}'), /not a LightGBM text model/);
  await refused(writeModel(new Uint8Array([1, 0, 2, 3])), /binary file/);
});

test('bad child indices and cycles are refused', async () => {
  const line = (k: string): string => text.slice(text.indexOf('Tree=0')).split('\n').find((l) => l.startsWith(`${k}=`))!.slice(k.length + 1);
  const left = line('left_child').split(' ');
  await refused(writeModel(editFirstTree('left_child', ['99', ...left.slice(1)].join(' '))), /child 99/);
  await refused(writeModel(editFirstTree('left_child', ['-99', ...left.slice(1)].join(' '))), /names leaf 98/);
  await refused(writeModel(editFirstTree('left_child', ['0', ...left.slice(1)].join(' '))), /child index 0|reached twice/);
  await refused(writeModel(editFirstTree('split_feature', line('split_feature').replace(/^\d+/, '50'))), /feature 50/);
  await refused(writeModel(editFirstTree('threshold', line('threshold').replace(/^\S+/, 'abc'))), /not a number/);
});

test('bad V1 rows are refused naming the row', async () => {
  const model = await lightgbmRuntime.load(ctx(join(FIXTURES, 'lgbm-poisson')));
  const nf = model.inputs[0]!.shape[1]!;
  const ok = new Array(nf).fill(0.5);
  await assert.rejects(model.predictV1!({ instances: [ok, ok, ok.slice(1)] }), (e: unknown) => InferdError.is(e) && /instances\[2\]/.test(e.message));
  await assert.rejects(model.predictV1!({ instances: [[...ok.slice(1), true]] }), (e: unknown) => InferdError.is(e) && /instances\[0\]\[\d+\] must be a number or null/.test(e.message));
});

test('categorical splits follow LightGBM: NaN and negative categories go right, -0.5 is category 0', async () => {
  // One tree, one categorical split on feature 0 with categories {0, 3} going left.
  const model = [
    'tree', 'version=v4', 'num_class=1', 'num_tree_per_iteration=1', 'label_index=0', 'max_feature_idx=1', 'objective=regression',
    '', 'Tree=0', 'num_leaves=2', 'num_cat=1', 'split_feature=0', 'threshold=0', 'decision_type=1', 'left_child=-1', 'right_child=-2',
    'leaf_value=10 20', 'cat_boundaries=0 1', 'cat_threshold=9', 'is_linear=0', 'shrinkage=1', '', 'end of trees', '',
  ].join('\n');
  const m = await lightgbmRuntime.load(ctx(writeModel(model)));
  const res = await m.predictV1!({ instances: [[0, 0], [3, 0], [1, 0], [null, 0], [-1, 0], [-0.5, 0], [3.9, 0], [1e12, 0], [35, 0]] }) as { predictions: number[] };
  assert.deepEqual(res.predictions, [10, 10, 20, 20, 20, 10, 10, 20, 20]);
});

test('numeric missing types: None reads NaN as 0, Zero treats 0 as missing, NaN uses the default', async () => {
  // decision_type bits: 2 = default left, (type << 2): 0 None, 4 Zero, 8 NaN.
  const tree = (dt: number, thr: string): string => [
    'tree', 'version=v4', 'num_class=1', 'num_tree_per_iteration=1', 'label_index=0', 'max_feature_idx=0', 'objective=regression',
    '', 'Tree=0', 'num_leaves=2', 'num_cat=0', 'split_feature=0', `threshold=${thr}`, `decision_type=${dt}`, 'left_child=-1', 'right_child=-2',
    'leaf_value=1 2', 'is_linear=0', 'shrinkage=1', '', 'end of trees', '',
  ].join('\n');
  const run = async (dt: number, thr: string, xs: Array<number | null>): Promise<number[]> => {
    const m = await lightgbmRuntime.load(ctx(writeModel(tree(dt, thr))));
    return ((await m.predictV1!({ instances: xs.map((x) => [x]) })) as { predictions: number[] }).predictions;
  };
  // None, threshold -1: NaN → 0 → 0 <= -1 false → right; -1 <= -1 → left (inclusive).
  assert.deepEqual(await run(0, '-1', [null, -1, -1.0000001, 5]), [2, 1, 1, 2]);
  // Zero, default left, threshold 5: 0 and NaN and 1e-36 → left, 7 → right, 3 → left.
  assert.deepEqual(await run(4 | 2, '5', [0, null, 1e-36, 7, 3]), [1, 1, 1, 2, 1]);
  // Zero, default right: 0 → right although 0 <= 5.
  assert.deepEqual(await run(4, '5', [0, null, 3]), [2, 2, 1]);
  // NaN type, default right, threshold +inf: every number left, NaN right.
  assert.deepEqual(await run(8, 'inf', [1e308, Infinity, null]), [1, 1, 2]);
});
