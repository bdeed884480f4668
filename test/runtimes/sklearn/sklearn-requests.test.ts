import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { InferdError } from '../../../src/api/errors.js';
import { sklearnRuntime } from '../../../src/runtimes/sklearn/index.js';
import { context, expected, FIXTURES } from './helpers.js';

function invalid(pattern: RegExp): (err: unknown) => boolean {
  return (err) => {
    assert.ok(InferdError.is(err), `not an InferdError: ${String(err)}`);
    assert.equal(err.code, 'invalid_input');
    assert.match(err.message, pattern);
    return true;
  };
}

test('the model file is found by KServe names and extensions', async () => {
  const model = await sklearnRuntime.load(context(join(FIXTURES, 'linear_regression_p2', 'model.pkl')));
  assert.equal(model.platform, 'sklearn');
  assert.equal(sklearnRuntime.name, 'inferd-sklearn');
  assert.deepEqual(sklearnRuntime.formats, ['sklearn']);
});

test('V1 rows of the wrong width are refused naming the row', async () => {
  const model = await sklearnRuntime.load(context(join(FIXTURES, 'random_forest_classifier')));
  await assert.rejects(model.predictV1!({ instances: [[1, 2, 3, 4], [1, 2, 3]] }), invalid(/instances\[1\] has 3 values; the model expects 4/));
  await assert.rejects(model.predictV1!({ instances: [[1, 2, 3, 4], [1, 'x', 3, 4]] }), invalid(/row 1: column 1 is "x"/));
  await assert.rejects(model.predictV1!({ instances: [[1, 2, [3], 4]] }), invalid(/instances\[0\]\[2\] is a list/));
  await assert.rejects(model.predictV1!({ rows: [] }), invalid(/"instances"/));
});

test('V1 accepts numeric strings for numeric models', async () => {
  const e = expected('logreg_multinomial');
  const model = await sklearnRuntime.load(context(join(FIXTURES, 'logreg_multinomial')));
  const res = (await model.predictV1!({ instances: e.X.map((r) => r.map(String)) })) as { predictions: unknown[] };
  assert.deepEqual(res.predictions, e.predict);
});

test('V2 inputs of the wrong width are refused', async () => {
  const model = await sklearnRuntime.load(context(join(FIXTURES, 'gaussian_nb')));
  await assert.rejects(model.infer([{ name: 'input-0', datatype: 'FP64', shape: [1, 3], data: new Float64Array(3) }], ['predict']),
    invalid(/3 features per row; the model expects 4/));
});

test('integer and float32 V2 inputs are converted', async () => {
  const e = expected('onehot_numeric');
  const model = await sklearnRuntime.load(context(join(FIXTURES, 'onehot_numeric')));
  const flat = e.X.flat() as number[];
  for (const data of [BigInt64Array.from(flat, BigInt), Int32Array.from(flat), Float32Array.from(flat)]) {
    const dt = data instanceof BigInt64Array ? 'INT64' : data instanceof Int32Array ? 'INT32' : 'FP32';
    const [out] = await model.infer([{ name: 'input-0', datatype: dt, shape: [e.X.length, 2], data }], ['transform']);
    assert.deepEqual(Array.from(out!.data as Float64Array), e.transform!.flat());
  }
});

test('unknown categories are refused when handle_unknown="error"', async () => {
  const model = await sklearnRuntime.load(context(join(FIXTURES, 'onehot_numeric')));
  await assert.rejects(model.predictV1!({ instances: [[0, 1], [7, 1]] }), invalid(/row 1: column 0 has category 7/));
});

test('NaN is refused by trees that do not support missing values, naming the row', async () => {
  const model = await sklearnRuntime.load(context(join(FIXTURES, 'random_forest_regressor')));
  await assert.rejects(model.predictV1!({ instances: [[1, 2, 3, 4, 5], [1, null, 3, 4, 5]] }), invalid(/row 1: column 1 is NaN/));
});

test('PREDICT_PROBA=true is refused for a model without predict_proba', async () => {
  await assert.rejects(sklearnRuntime.load(context(join(FIXTURES, 'linear_svc'), { PREDICT_PROBA: 'true' })), invalid(/has no predict_proba/));
});

test('string labels come back as BYTES and V1 strings', async () => {
  const e = expected('pipeline_column_transformer');
  const model = await sklearnRuntime.load(context(join(FIXTURES, 'pipeline_column_transformer')));
  assert.equal(model.outputs.find((o) => o.name === 'predict')!.datatype, 'BYTES');
  const res = (await model.predictV1!({ instances: e.X })) as { predictions: string[] };
  assert.ok(res.predictions.every((p) => p === 'yes' || p === 'no'));
});

test('the model size limit applies', async () => {
  await assert.rejects(sklearnRuntime.load(context(join(FIXTURES, 'random_forest_regressor'), { SKLEARN_MAX_MODEL_BYTES: '1000' })),
    invalid(/exceeds the limit of 1000/));
});
