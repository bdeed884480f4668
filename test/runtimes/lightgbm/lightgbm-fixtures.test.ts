import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { lightgbmRuntime } from '../../../src/runtimes/lightgbm/lightgbm-runtime.js';
import { FIXTURES, ctx } from './helpers.js';


interface Expected {
  inputs: Array<Array<number | null>>;
  outputs: { predict: Array<number | number[]>; raw_score: Array<number | number[]> };
}

const flat = (v: Array<number | number[]>): number[] => v.flatMap((x) => (Array.isArray(x) ? x : [x]));

function assertClose(actual: ArrayLike<number>, expected: number[], what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    const rel = Math.abs(a - e) / Math.max(Math.abs(e), 1e-300);
    if (!(a === e || rel <= 1e-9)) assert.fail(`${what}: element ${i} is ${a}, LightGBM gave ${e} (relative error ${rel})`);
  }
}

const cases = existsSync(FIXTURES) ? readdirSync(FIXTURES).filter((d) => existsSync(join(FIXTURES, d, 'expected.json'))).sort() : [];

test('LightGBM fixtures are present', () => {
  assert.ok(cases.length >= 5, `expected LightGBM fixtures under ${FIXTURES}`);
});

for (const c of cases) {
  const dir = join(FIXTURES, c);
  const exp = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Expected;
  for (const layout of ['auto', 'general']) {
    test(`lightgbm ${c} matches LightGBM within 1e-9 (${layout} layout)`, async () => {
      const nf = exp.inputs[0]!.length;
      const n = exp.inputs.length;
      const X = new Float64Array(n * nf);
      exp.inputs.forEach((r, i) => r.forEach((v, j) => { X[i * nf + j] = v === null ? NaN : v; }));
      const extra = layout === 'general' ? ['--tree_layout=general'] : [];
      for (const [args, key] of [[[], 'predict'], [['--raw_score=true'], 'raw_score']] as const) {
        const model = await lightgbmRuntime.load(ctx(dir, [...args, ...extra]));
        assert.equal(model.inputs[0]!.datatype, 'FP64');
        assert.deepEqual(model.inputs[0]!.shape, [-1, nf]);
        const expected = exp.outputs[key];
        const width = Array.isArray(expected[0]) ? (expected[0] as number[]).length : 1;
        assert.deepEqual(model.outputs[0]!.shape, width === 1 ? [-1] : [-1, width]);
        const [out] = await model.infer([{ name: 'input-0', datatype: 'FP64', shape: [n, nf], data: X }], ['predict']);
        assert.ok(out);
        assert.equal(out.datatype, 'FP64');
        assert.deepEqual(out.shape, width === 1 ? [n] : [n, width]);
        assertClose(out.data as Float64Array, flat(expected), `${c}/${key}`);
        const v1 = await model.predictV1!({ instances: exp.inputs }) as { predictions: Array<number | number[]> };
        assertClose(flat(v1.predictions), flat(expected), `${c}/${key} V1`);
      }
    });
  }
}
