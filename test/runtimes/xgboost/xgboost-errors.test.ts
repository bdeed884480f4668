import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InferdError } from '../../../src/api/errors.js';
import { xgboostRuntime } from '../../../src/runtimes/xgboost/xgboost-runtime.js';
import { decodeUbjson, UbjsonError } from '../../../src/runtimes/xgboost/ubjson.js';
import { FIXTURES, ctx } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'inferd-xgb-'));
const good = JSON.parse(readFileSync(join(FIXTURES, 'reg_squarederror', 'model.json'), 'utf8')) as {
  learner: { gradient_booster: { model: { trees: Array<Record<string, unknown>> } } };
};
let counter = 0;

function writeModel(content: string | Uint8Array, name = 'model.json'): string {
  const dir = join(tmp, String(counter++));
  mkdirSync(dir);
  writeFileSync(join(dir, name), content);
  return dir;
}

function mutated(fn: (tree: Record<string, unknown>) => void): string {
  const doc = structuredClone(good);
  fn(doc.learner.gradient_booster.model.trees[0]!);
  return JSON.stringify(doc);
}

async function refused(dir: string, pattern: RegExp, args: string[] = []): Promise<void> {
  await assert.rejects(xgboostRuntime.load(ctx(dir, args)), (err: unknown) => {
    assert.ok(InferdError.is(err), `expected an InferdError, got ${String(err)}`);
    assert.equal(err.code, 'invalid_input');
    assert.match(err.message, pattern);
    return true;
  });
}

test('truncated JSON is refused', async () => {
  const text = readFileSync(join(FIXTURES, 'reg_squarederror', 'model.json'), 'utf8');
  await refused(writeModel(text.slice(0, text.length / 2)), /not valid JSON/);
});

test('truncated UBJSON and binary models are refused', async () => {
  const ubj = readFileSync(join(FIXTURES, 'reg_squarederror', 'model.ubj'));
  await refused(writeModel(ubj.subarray(0, ubj.length - 100), 'model.ubj'), /UBJSON: truncated/);
  const bst = readFileSync(join(FIXTURES, 'reg_squarederror', 'model.bst'));
  await refused(writeModel(bst.subarray(0, bst.length - 300), 'model.bst'), /truncated|more than the file/);
});

test('JSON of the wrong schema is refused', async () => {
  await refused(writeModel('{"hello": [1, 2, 3]}'), /"learner" is missing/);
  await refused(writeModel('[1, 2]'), /not an object|not an XGBoost model/);
});

test('a file of another format named model.json is refused', async () => {
  const lgb = readFileSync(join(FIXTURES, '..', 'lightgbm', 'lgbm-poisson', 'model.txt'));
  await refused(writeModel(lgb), /not an XGBoost model|not valid/);
  await refused(writeModel(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3])), /not an XGBoost model/);
  // ONNX-ish protobuf bytes, long enough to be taken for the binary format.
  await refused(writeModel(new Uint8Array(400).map((_, i) => (i * 37) & 0xff)), /not an XGBoost model|truncated|impossible/);
});

test('negative, out-of-range and cyclic child indices are refused', async () => {
  await refused(writeModel(mutated((t) => { (t.left_children as number[])[0] = -5; })), /child index -5/);
  await refused(writeModel(mutated((t) => { (t.right_children as number[])[0] = 10_000; })), /child index 10000/);
  await refused(writeModel(mutated((t) => {
    const left = t.left_children as number[];
    const l = left[0]!;
    left[l] = 0; // back to the root
  })), /child index 0|reached twice/);
  await refused(writeModel(mutated((t) => {
    const left = t.left_children as number[];
    const right = t.right_children as number[];
    right[0] = left[0]!; // both children the same node
  })), /reached twice/);
});

test('bad feature indices, lengths and objectives are refused', async () => {
  await refused(writeModel(mutated((t) => { (t.split_indices as number[])[0] = 99; })), /feature 99/);
  await refused(writeModel(mutated((t) => { (t.split_conditions as number[]).pop(); })), /split_conditions has/);
  const doc = structuredClone(good) as unknown as { learner: { objective: { name: string } } };
  doc.learner.objective.name = 'survival:weird';
  await refused(writeModel(JSON.stringify(doc)), /objective "survival:weird" is not supported/);
});

test('runtime args are checked', async () => {
  const dir = join(FIXTURES, 'reg_squarederror');
  await refused(dir, /--output_margin must be true or false/, ['--output_margin=maybe']);
  await refused(dir, /--iteration_range must be/, ['--iteration_range=abc']);
});

test('the UBJSON decoder refuses garbage without hanging', () => {
  assert.throws(() => decodeUbjson(new Uint8Array([0x7b, 0x69, 0x05, 0x61])), UbjsonError);
  assert.throws(() => decodeUbjson(new Uint8Array([0x5b, 0x24, 0x64, 0x23, 0x6c, 0x7f, 0xff, 0xff, 0xff])), UbjsonError);
  assert.throws(() => decodeUbjson(new Uint8Array(300).fill(0x5b)), UbjsonError);
  assert.deepEqual(decodeUbjson(new Uint8Array([0x5b, 0x69, 0x01, 0x55, 0x02, 0x5d])), [1, 2]);
});

test('bad V1 rows are refused naming the row', async () => {
  const model = await xgboostRuntime.load(ctx(join(FIXTURES, 'reg_squarederror', 'model.json')));
  const ok = [0, 1, 2, 3, 4, 5];
  await assert.rejects(model.predictV1!({ instances: [ok, [1, 2]] }), (e: unknown) => InferdError.is(e) && e.code === 'invalid_input' && /instances\[1\] has 2 features/.test(e.message));
  await assert.rejects(model.predictV1!({ instances: [ok, [0, 1, 'x', 3, 4, 5]] }), (e: unknown) => InferdError.is(e) && /instances\[1\]\[2\]/.test(e.message));
  await assert.rejects(model.predictV1!({ instances: [5] }), (e: unknown) => InferdError.is(e) && /instances\[0\] must be an array/.test(e.message));
  await assert.rejects(model.predictV1!({}), (e: unknown) => InferdError.is(e) && e.code === 'invalid_input');
  const res = await model.predictV1!({ inputs: [ok, [null, null, null, null, null, null]] }) as { predictions: number[] };
  assert.equal(res.predictions.length, 2);
  assert.ok(res.predictions.every((p) => typeof p === 'number'));
});
