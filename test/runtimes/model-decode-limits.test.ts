/**
 * Reader bounds (issue 17 item 2): every classic reader charges what it builds against
 * `limits.maxModelDecodedBytes` before allocating, shape products never overflow, and a model
 * accounts the memory it really holds, not its file size.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { InferdError } from '../../src/api/errors.js';
import { checkedProduct, DecodeBudget } from '../../src/runtimes/decode-budget.js';
import { buildLightgbm, lightgbmRuntime } from '../../src/runtimes/lightgbm/lightgbm-runtime.js';
import { sklearnRuntime } from '../../src/runtimes/sklearn/index.js';
import { DType, NdArray } from '../../src/runtimes/sklearn/ndarray.js';
import { buildXgboost, xgboostRuntime } from '../../src/runtimes/xgboost/xgboost-runtime.js';
import { REPO_ROOT } from '../helpers/inferd-process.js';
import { context } from './sklearn/helpers.js';

const HOSTILE = join(REPO_ROOT, 'test/fixtures/hostile-models');
const LIMIT = /limits\.maxModelDecodedBytes/;

function limitError(pattern: RegExp) {
  return (err: unknown) => {
    assert.ok(InferdError.is(err), `not an InferdError: ${String(err)}`);
    assert.equal(err.code, 'invalid_input');
    assert.match(err.message, pattern);
    return true;
  };
}

test('checked shape products: no wrap, no lost precision, zero wins', () => {
  assert.equal(checkedProduct([2 ** 28, 0]), 0);
  assert.equal(checkedProduct([2 ** 33, 2 ** 33, 2 ** 33]), Infinity);
  assert.equal(checkedProduct([2 ** 26, 2 ** 26]), 2 ** 52);
  assert.equal(checkedProduct([3, 5], 14), Infinity);
  assert.equal(checkedProduct([3, 5], 15), 15);
  assert.equal(checkedProduct([1.5]), Infinity);
});

test('a zero-size dtype with a huge shape is refused before anything is built', () => {
  const a = new NdArray(DType.parse('<U0'), [2 ** 28], new DecodeBudget(1 << 30));
  a.raw = new Uint8Array(0);
  const heap = process.memoryUsage().heapUsed;
  assert.throws(() => a.values(), limitError(/268435456 elements would decode to 4294967296 bytes/));
  assert.ok(process.memoryUsage().heapUsed - heap < 64 * 1024 * 1024, 'the refusal allocated');
});

test('a memo-shared array pays each time it is expanded', () => {
  const budget = new DecodeBudget(100 * 8);
  const a = new NdArray(DType.parse('<f8'), [10], budget);
  a.raw = new Uint8Array(80);
  for (let i = 0; i < 10; i++) a.numbers();
  assert.equal(budget.used, 800);
  assert.throws(() => a.numbers(), limitError(LIMIT));
});

for (const [dir, pattern] of [
  ['sklearn-u0-huge-shape', LIMIT],
  ['sklearn-tree-bomb', /flattened trees would decode to 3700205000 bytes/],
  ['sklearn-shape-overflow', /astronomically many/],
  ['sklearn-f8-huge-shape-tiny-data', /holds 8 bytes/],
] as const) {
  test(`hostile fixture ${dir} fails to load with a clear error`, async () => {
    await assert.rejects(sklearnRuntime.load(context(join(HOSTILE, dir))), limitError(pattern));
  });
}

test('sklearn: accounted memory is what the model built, not its 48 KB file', async () => {
  const dir = join(HOSTILE, 'slow-valid-forest');
  const model = await sklearnRuntime.load(context(dir));
  const file = statSync(join(dir, 'model.joblib')).size;
  // 60 flattened copies of a 20,001-node tree: tens of MB.
  assert.ok(model.memoryBytes() > 40 * 1024 * 1024, `memoryBytes ${model.memoryBytes()} for a ${file}-byte file`);
  // The same file under a smaller limit fails instead.
  await assert.rejects(sklearnRuntime.load({ ...context(dir), maxDecodedBytes: 16 * 1024 * 1024 }), limitError(LIMIT));
});

test('xgboost and lightgbm charge their compiled trees against the limit', async () => {
  const xgb = readFileSync(join(REPO_ROOT, 'test/fixtures/xgboost/binary_logistic/model.json'));
  assert.throws(() => buildXgboost(xgb, [], 'model.json', new DecodeBudget(64)), limitError(/compiled trees would decode to \d+ bytes, beyond the limit of 64/));
  assert.doesNotThrow(() => buildXgboost(xgb, [], 'model.json', new DecodeBudget()));
  const lgb = readFileSync(join(REPO_ROOT, 'test/fixtures/lightgbm/lgbm-binary-bc/model.txt'));
  assert.throws(() => buildLightgbm(lgb, [], 'model.txt', new DecodeBudget(64)), limitError(LIMIT));
  await assert.rejects(xgboostRuntime.load({ ...context(join(HOSTILE, 'xgboost-absurd-counts')), format: { name: 'xgboost' } }), limitError(/num_trees says/));
  await assert.rejects(lightgbmRuntime.load({ ...context(join(HOSTILE, 'lightgbm-absurd-leaves')), format: { name: 'lightgbm' } }), limitError(/expected 16777216/));
});

test('xgboost and lightgbm files are charged before they are read', async () => {
  const xgb = { ...context(join(REPO_ROOT, 'test/fixtures/xgboost/binary_logistic/model.json')), format: { name: 'xgboost' }, maxDecodedBytes: 1024 };
  await assert.rejects(xgboostRuntime.load(xgb), limitError(/model file would decode to \d+ bytes, beyond the limit of 1024/));
  const lgb = { ...context(join(REPO_ROOT, 'test/fixtures/lightgbm/lgbm-binary-bc/model.txt')), format: { name: 'lightgbm' }, maxDecodedBytes: 1024 };
  await assert.rejects(lightgbmRuntime.load(lgb), limitError(/model file would decode/));
});
