/**
 * Every XGBoost and LightGBM fixture model, in each layout it can take: a batch of
 * all fixture rows (repeated past one block of the dense kernel) answers each row
 * exactly as that row sent alone, so batching never changes a prediction.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { xgboostRuntime } from '../../../src/runtimes/xgboost/xgboost-runtime.js';
import { lightgbmRuntime } from '../../../src/runtimes/lightgbm/lightgbm-runtime.js';
import type { LoadedModel, Runtime } from '../../../src/runtimes/types.js';
import { FIXTURES as XGB, ctx as xgbCtx } from '../xgboost/helpers.js';
import { FIXTURES as LGB, ctx as lgbCtx } from '../lightgbm/helpers.js';

const ROWS = 300;

function cases(root: string): string[] {
  return existsSync(root) ? readdirSync(root).filter((d) => existsSync(join(root, d, 'expected.json'))).sort() : [];
}

async function batchEqualsSingles(model: LoadedModel, inputs: Array<Array<number | null>>, f32: boolean, what: string): Promise<void> {
  const nf = inputs[0]!.length;
  const X = f32 ? new Float32Array(ROWS * nf) : new Float64Array(ROWS * nf);
  for (let r = 0; r < ROWS; r++) inputs[r % inputs.length]!.forEach((v, j) => { X[r * nf + j] = v === null ? NaN : v; });
  const datatype = f32 ? 'FP32' : 'FP64';
  const [all] = await model.infer([{ name: 'input-0', datatype, shape: [ROWS, nf], data: X }], ['predict']);
  const width = all!.data.length / ROWS;
  for (let r = 0; r < ROWS; r++) {
    const [one] = await model.infer([{ name: 'input-0', datatype, shape: [1, nf], data: X.slice(r * nf, (r + 1) * nf) }], ['predict']);
    for (let k = 0; k < width; k++) {
      const a = (all!.data as Float32Array)[r * width + k]!;
      const b = (one!.data as Float32Array)[k]!;
      if (!Object.is(a, b)) assert.fail(`${what}: row ${r} output ${k} is ${a} in the batch, ${b} alone`);
    }
  }
}

const suites: Array<[string, string, Runtime, typeof xgbCtx, boolean, string]> = [
  ['xgboost', XGB, xgboostRuntime, xgbCtx, true, 'model.json'],
  ['lightgbm', LGB, lightgbmRuntime, lgbCtx, false, 'model.txt'],
];

for (const [kind, root, runtime, ctx, f32, file] of suites) {
  test(`${kind} fixtures are present`, () => assert.ok(cases(root).length >= 5));
  for (const c of cases(root)) {
    test(`${kind} ${c}: a ${ROWS}-row batch equals each row alone (every layout)`, async () => {
      const exp = JSON.parse(readFileSync(join(root, c, 'expected.json'), 'utf8')) as { inputs: Array<Array<number | null>> };
      for (const args of [[], ['--tree_layout=general']]) {
        const model = await runtime.load(ctx(join(root, c, file), args));
        await batchEqualsSingles(model, exp.inputs, f32, `${c} ${args.join(' ') || 'auto layout'}`);
        await model.unload();
      }
    });
  }
}
