import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { xgboostRuntime } from '../../../src/runtimes/xgboost/xgboost-runtime.js';
import { FIXTURES, ctx } from './helpers.js';


interface Expected {
  objective: string;
  inputs: Array<Array<number | null>>;
  outputs: Record<string, Array<number | number[]>>;
  best_iteration?: number;
}

function rowsToTensor(rows: Array<Array<number | null>>): Float32Array {
  const nf = rows[0]!.length;
  const X = new Float32Array(rows.length * nf);
  rows.forEach((r, i) => r.forEach((v, j) => { X[i * nf + j] = v === null ? NaN : v; }));
  return X;
}

const flat = (v: Array<number | number[]>): number[] => v.flatMap((x) => (Array.isArray(x) ? x : [x]));

/** Bit-identical float32 comparison: expected values are exact float32 values. */
function assertSame(actual: ArrayLike<number>, expected: number[], what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    if (!Object.is(actual[i], expected[i])) {
      assert.fail(`${what}: element ${i} is ${actual[i]}, XGBoost gave ${expected[i]}`);
    }
  }
}

const cases = existsSync(FIXTURES) ? readdirSync(FIXTURES).filter((d) => existsSync(join(FIXTURES, d, 'expected.json'))).sort() : [];

test('fixtures are present', () => {
  assert.ok(cases.length >= 14, `expected XGBoost fixtures under ${FIXTURES}`);
});

for (const c of cases) {
  const dir = join(FIXTURES, c);
  const exp = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Expected;
  const files = ['model.json', 'model.ubj', 'model.bst'].filter((f) => existsSync(join(dir, f)));
  for (const file of files) {
    test(`xgboost ${c} (${file}) matches XGBoost's inplace_predict bit for bit`, async () => {
      const nf = exp.inputs[0]!.length;
      const n = exp.inputs.length;
      const X = rowsToTensor(exp.inputs);
      const variants: Array<[string[], string]> = [[[], 'predict'], [['--output_margin=true'], 'margin'],
        [['--tree_layout=general'], 'predict'], [['--tree_layout=general', '--output_margin=true'], 'margin']];
      if (exp.outputs.predict_best) variants.push([['--use_best_iteration=true'], 'predict_best'], [['--use_best_iteration', '--output_margin', 'true'], 'margin_best']);
      for (const [args, key] of variants) {
        const model = await xgboostRuntime.load(ctx(join(dir, file), args));
        assert.equal(model.inputs[0]!.datatype, 'FP32');
        assert.deepEqual(model.inputs[0]!.shape, [-1, nf]);
        const expected = exp.outputs[key]!;
        const [out] = await model.infer([{ name: 'input-0', datatype: 'FP32', shape: [n, nf], data: X }], ['predict']);
        assert.ok(out);
        const width = Array.isArray(expected[0]) ? (expected[0] as number[]).length : 1;
        assert.deepEqual(out.shape, width === 1 ? [n] : [n, width], `${key} shape`);
        assert.deepEqual(model.outputs[0]!.shape, width === 1 ? [-1] : [-1, width]);
        assertSame(out.data as Float32Array, flat(expected), `${c}/${file}/${key}`);
        // V1 gives the same numbers, nulls as missing values.
        const v1 = await model.predictV1!({ instances: exp.inputs }) as { predictions: Array<number | number[]> };
        assertSame(flat(v1.predictions), flat(expected), `${c}/${file}/${key} V1`);
        await model.unload();
      }
    });
  }
}

test('the directory form finds the model file', async () => {
  const model = await xgboostRuntime.load(ctx(join(FIXTURES, 'reg_squarederror')));
  assert.equal(model.outputs[0]!.name, 'predict');
});
