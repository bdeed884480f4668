import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Tensor } from '../../src/api/inference.js';
import { bigintToFloat32, castToDeclared } from '../../src/serving/reference-casts.js';
import { validateRequest } from '../../src/serving/validate-request.js';

const tensor = (datatype: Tensor['datatype'], data: Tensor['data']): Tensor => ({ name: 'input-0', datatype, shape: [1, data.length], data });

test('64-bit integers round to float32 once, not through float64', () => {
  // 2^54 + 2^30 + 1 is just past the midpoint of two float32 values; through float64 it
  // would first land exactly on the midpoint (2^54 + 2^30) and then round to even, down.
  const v = 2n ** 54n + 2n ** 30n + 1n;
  assert.equal(bigintToFloat32(v), 2 ** 54 + 2 ** 31);
  assert.equal(bigintToFloat32(-v), -(2 ** 54 + 2 ** 31));
  assert.equal(Math.fround(Number(v)), 2 ** 54, 'the double-rounding this avoids');
  assert.equal(bigintToFloat32(2n ** 24n + 1n), 2 ** 24, 'midpoint below 2^53: ties to even');
  assert.equal(bigintToFloat32(2n ** 24n + 3n), 2 ** 24 + 4);
  assert.equal(bigintToFloat32(18446744073709551615n), 2 ** 64);
});

test('XGBoost: FP64 rounds to nearest even float32; INT64 and BOOL convert; BYTES does not', () => {
  const cast = castToDeclared(tensor('FP64', Float64Array.of(1 + 2 ** -24, 1 + 3 * 2 ** -24, NaN)), 'FP32', 'xgboost')!;
  assert.equal(cast.datatype, 'FP32');
  assert.deepEqual(Array.from(cast.data as Float32Array), [1, 1 + 2 ** -22, NaN]);
  assert.deepEqual(Array.from(castToDeclared(tensor('INT64', BigInt64Array.of(16777217n, -3n)), 'FP32', 'xgboost')!.data as Float32Array), [16777216, -3]);
  assert.deepEqual(Array.from(castToDeclared(tensor('BOOL', Uint8Array.of(1, 0)), 'FP32', 'xgboost')!.data as Float32Array), [1, 0]);
  assert.equal(castToDeclared(tensor('BYTES', [new Uint8Array(1)]), 'FP32', 'xgboost'), undefined);
});

test('LightGBM: FP32 widens exactly, integers go through float32 first', () => {
  const f32 = Math.fround(0.1);
  assert.deepEqual(Array.from(castToDeclared(tensor('FP32', Float32Array.of(0.1)), 'FP64', 'lightgbm')!.data as Float64Array), [f32]);
  assert.deepEqual(Array.from(castToDeclared(tensor('INT32', Int32Array.of(16777217)), 'FP64', 'lightgbm')!.data as Float64Array), [16777216]);
});

test('sklearn takes integers as sent (its runtime converts them), not FP32; ONNX stays strict', () => {
  const ints = tensor('INT32', Int32Array.of(16777217));
  assert.equal(castToDeclared(ints, 'FP64', 'sklearn'), ints);
  assert.equal(castToDeclared(tensor('FP32', Float32Array.of(1)), 'FP64', 'sklearn'), undefined);
  assert.equal(castToDeclared(tensor('FP64', Float64Array.of(1)), 'FP32', 'onnxruntime_onnx'), undefined);
});

test('validateRequest replaces a converted input and names the accepted datatypes otherwise', () => {
  const sig = { platform: 'xgboost', inputs: [{ name: 'input-0', datatype: 'FP32' as const, shape: [-1, 2] }], outputs: [] };
  const req = { inputs: [tensor('FP64', Float64Array.of(0.1, 0.2))] };
  validateRequest(req, sig);
  assert.equal(req.inputs[0]!.datatype, 'FP32');
  assert.ok(req.inputs[0]!.data instanceof Float32Array);
  assert.throws(() => validateRequest({ inputs: [tensor('FP64', Float64Array.of(1, 2))] }, { ...sig, platform: 'onnxruntime_onnx' }),
    /datatype FP64 does not match the model's FP32$/);
});
