import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Tensor } from '../../../src/api/inference.js';
import { sklearnRuntime } from '../../../src/runtimes/sklearn/index.js';
import { assertClose, cases, context, expected, FIXTURES, type Expected } from './helpers.js';

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

function inputTensor(e: Expected): Tensor {
  const rows = e.X.length;
  const cols = e.X[0]!.length;
  const flat = e.X.flat();
  if (e.input_kind === 'strings') {
    return { name: 'input-0', datatype: 'BYTES', shape: [rows, cols], data: flat.map((c) => utf8.encode(c === null ? '' : String(c))) };
  }
  return { name: 'input-0', datatype: 'FP64', shape: [rows, cols], data: Float64Array.from(flat, (c) => (c === null ? NaN : Number(c))) };
}

function decode(t: Tensor): (number | string)[] {
  if (t.datatype === 'BYTES') return (t.data as Uint8Array[]).map((b) => fromUtf8.decode(b));
  return Array.from(t.data as ArrayLike<number | bigint>, Number);
}

const all = cases();

test('fixture set covers every estimator family', () => {
  const names = new Set(all.map((c) => expected(c).estimator));
  for (const want of ['LinearRegression', 'Ridge', 'Lasso', 'ElasticNet', 'LogisticRegression', 'SGDClassifier', 'SGDRegressor',
    'LinearSVC', 'LinearSVR', 'SVC', 'SVR', 'DecisionTreeClassifier', 'DecisionTreeRegressor', 'RandomForestClassifier',
    'RandomForestRegressor', 'ExtraTreesClassifier', 'ExtraTreesRegressor', 'GradientBoostingClassifier', 'GradientBoostingRegressor',
    'HistGradientBoostingClassifier', 'HistGradientBoostingRegressor', 'KNeighborsClassifier', 'KNeighborsRegressor', 'GaussianNB',
    'StandardScaler', 'MinMaxScaler', 'RobustScaler', 'SimpleImputer', 'OneHotEncoder', 'Pipeline']) {
    assert.ok(names.has(want), `no fixture for ${want}`);
  }
  assert.ok(all.length >= 50, `only ${all.length} fixtures`);
});

for (const name of all) {
  test(`sklearn fixture ${name}: V2 outputs match sklearn`, async () => {
    const e = expected(name);
    const model = await sklearnRuntime.load(context(join(FIXTURES, name)));
    assert.equal(model.inputs.length, 1);
    assert.equal(model.inputs[0]!.name, 'input-0');
    assert.equal(model.inputs[0]!.datatype, e.input_kind === 'strings' ? 'BYTES' : 'FP64');
    assert.deepEqual(model.inputs[0]!.shape, [-1, e.X[0]!.length]);
    const names = model.outputs.map((o) => o.name);
    const wanted = (['predict', 'predict_proba', 'decision_function', 'transform'] as const).filter((k) => e[k] !== undefined);
    assert.deepEqual([...names].sort(), [...wanted].sort(), 'declared outputs');
    const out = await model.infer([inputTensor(e)], names);
    for (const t of out) {
      const spec = model.outputs.find((o) => o.name === t.name)!;
      assert.equal(t.datatype, spec.datatype, `${t.name} datatype`);
      assert.equal(t.shape.length, spec.shape.length, `${t.name} rank`);
      assert.equal(t.shape[0], e.X.length);
      if (t.name === 'predict') {
        const got = decode(t);
        const want = e.predict!.map((v) => (typeof v === 'boolean' ? Number(v) : v)) as (number | string)[];
        if (spec.datatype === 'FP64' && !model.outputs.some((o) => o.name === 'predict_proba' || o.name === 'decision_function')) {
          assertClose(got as number[], want as number[], `${name} predict`);
        } else {
          assert.deepEqual(got, want, `${name} predict labels`);
        }
      } else {
        const want = (e[t.name as 'predict_proba'] as (number | number[])[]).flat();
        assertClose(t.data as Float64Array, want, `${name} ${t.name}`);
      }
    }
  });

  test(`sklearn fixture ${name}: V1 predictV1 matches sklearn`, async () => {
    const e = expected(name);
    const model = await sklearnRuntime.load(context(join(FIXTURES, name)));
    const res = (await model.predictV1!({ instances: e.X })) as { predictions: unknown[] };
    assert.equal(res.predictions.length, e.X.length);
    if (e.predict === undefined) {
      assertClose((res.predictions as number[][]).flat(), e.transform!.flat(), `${name} V1 transform`);
    } else if (e.predict_proba !== undefined || e.decision_function !== undefined) {
      assert.deepEqual(res.predictions, e.predict, `${name} V1 labels`);
    } else {
      assertClose((res.predictions as number[]).flat(), (e.predict as number[]).flat(), `${name} V1 predict`);
    }
    if (e.predict_proba !== undefined) {
      const proba = await sklearnRuntime.load(context(join(FIXTURES, name), { PREDICT_PROBA: 'true' }));
      const p = (await proba.predictV1!({ inputs: e.X })) as { predictions: number[][] };
      assertClose(p.predictions.flat(), e.predict_proba.flat(), `${name} V1 PREDICT_PROBA`);
    }
  });
}
