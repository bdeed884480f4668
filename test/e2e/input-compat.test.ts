/**
 * Input compatibility end to end through one real `inferd serve`: classic models take the
 * numeric datatypes their reference library converts (a Python client's FP64 and INT64
 * defaults) and answer exactly what XGBoost, LightGBM and scikit-learn computed for the
 * same arrays; V2 JSON null is a missing value in float tensors and a 400 in integer ones;
 * k-NN answers match scikit-learn on data full of equal distances; an InferenceService
 * with spec.transformer or spec.explainer is refused rather than created and ignored.
 *
 * The reference values come from the real libraries (scripts/gen-xgboost-fixtures.py
 * --input-compat, scripts/gen-lightgbm-fixtures.py, scripts/gen-sklearn-fixtures.py).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { REPO_ROOT, startInferd, waitReady, waitSettled, type InferdProcess } from '../helpers/inferd-process.js';
import { postJson } from '../helpers/fixtures.js';

type Row = Array<number | null>;
interface Reference { inputs: Row[]; predict: number[] }
interface TreeReference { fp64: Reference; int64: Reference; fp32_missing: Reference }
interface KnnExpected {
  X: number[][];
  predict: Array<number | number[]>;
  predict_proba?: number[][];
  fit_method: string;
  int_rows: number;
  predict_int: number[];
  predict_proba_int?: number[][];
}

const XGB = join(REPO_ROOT, 'test/fixtures/xgboost/input-compat');
const LGBM = join(REPO_ROOT, 'test/fixtures/lightgbm/input-compat');
const SKL = join(REPO_ROOT, 'test/fixtures/sklearn');
const KNN = ['knn_ties_kd', 'knn_ties_kd_distance', 'knn_ties_kd_chebyshev', 'knn_ties_ball', 'knn_ties_ball_manhattan',
  'knn_ties_brute', 'knn_ties_brute_distance', 'knn_ties_regressor_kd', 'knn_ties_regressor_brute'];

const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, 'utf8')) as T;
const dns = (s: string): string => s.replace(/_/g, '-');

function isvc(name: string, format: string, storageUri: string, env: Record<string, string> = {}): unknown {
  const model: Record<string, unknown> = { modelFormat: { name: format }, storageUri };
  const list = Object.entries(env).map(([n, value]) => ({ name: n, value }));
  if (list.length) model.env = list;
  return { apiVersion: 'serving.kserve.io/v1beta1', kind: 'InferenceService', metadata: { name }, spec: { predictor: { model } } };
}

const manifest = (docs: unknown[]): string => docs.map((d) => JSON.stringify(d)).join('\n---\n') + '\n';

function v2(datatype: string, rows: Row[], outputs?: string[]): unknown {
  const body: Record<string, unknown> = { inputs: [{ name: 'input-0', datatype, shape: [rows.length, rows[0]!.length], data: rows }] };
  if (outputs) body.outputs = outputs.map((name) => ({ name }));
  return body;
}

describe('input compatibility: numeric datatypes, null as missing, k-NN ties, refused spec fields', () => {
  let srv: InferdProcess;
  const infer = (model: string, body: unknown) => postJson(`${srv.http}/v2/models/${model}/infer`, body);
  const output = (res: { body: any }, name: string): number[] =>
    (res.body.outputs as Array<{ name: string; data: number[] }>).find((o) => o.name === name)!.data;

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'inferd-compat-'));
    const file = join(dir, 'models.yaml');
    writeFileSync(file, manifest([
      isvc('xgb', 'xgboost', XGB),
      isvc('lgbm', 'lightgbm', LGBM),
      ...KNN.map((k) => isvc(dns(k), 'sklearn', join(SKL, k))),
      isvc('knn-proba-v1', 'sklearn', join(SKL, 'knn_ties_kd'), { PREDICT_PROBA: 'true' }),
    ]));
    srv = await startInferd(['-f', file]);
    await waitReady(srv.http, 60_000);
    for (const name of ['xgb', 'lgbm', 'knn-proba-v1', ...KNN.map(dns)]) {
      const s = await waitSettled(srv.http, name, 'default', 60_000);
      assert.equal(s.status?.conditions?.find((c: { type: string }) => c.type === 'PredictorReady')?.status, 'True', `${name} ready`);
    }
  });

  after(async () => {
    await srv?.stop();
  });

  describe('XGBoost converts to float32 as DMatrix does', () => {
    const ref = readJson<TreeReference>(join(XGB, 'reference.json'));
    it('FP64 rows (between float32 neighbours of split thresholds) give XGBoost\'s output', async () => {
      const res = await infer('xgb', v2('FP64', ref.fp64.inputs));
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.outputs[0].datatype, 'FP32');
      assert.deepEqual(output(res, 'predict'), ref.fp64.predict);
    });
    it('INT64 rows past 2^24 round to float32 once, as static_cast<float>', async () => {
      const res = await infer('xgb', v2('INT64', ref.int64.inputs));
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(output(res, 'predict'), ref.int64.predict);
    });
    it('null in FP32 data is a missing value, routed as XGBoost routes NaN', async () => {
      const res = await infer('xgb', v2('FP32', ref.fp32_missing.inputs));
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(output(res, 'predict'), ref.fp32_missing.predict);
    });
    it('INT32 and BOOL are accepted; BYTES is still a 400 that lists what is', async () => {
      const ints = ref.int64.inputs.filter((r) => r.every((v) => v === null || Math.abs(v) < 2 ** 31));
      assert.equal((await infer('xgb', v2('INT32', ints))).status, 200);
      assert.equal((await infer('xgb', v2('BOOL', [[true, false, true]] as unknown as Row[]))).status, 200);
      const res = await infer('xgb', { inputs: [{ name: 'input-0', datatype: 'BYTES', shape: [1, 3], data: ['a', 'b', 'c'] }] });
      assert.equal(res.status, 400);
      assert.match(JSON.stringify(res.body), /datatype BYTES does not match the model's FP32; it accepts FP32, BOOL, .*INT64.*FP64/);
    });
  });

  describe('LightGBM keeps float32/float64 and converts other dtypes to float32 first', () => {
    const ref = readJson<TreeReference>(join(LGBM, 'reference.json'));
    const close = (got: number[], want: number[]) => {
      assert.equal(got.length, want.length);
      want.forEach((w, i) => assert.ok(Math.abs(got[i]! - w) <= 1e-12 * Math.max(1, Math.abs(w)), `row ${i}: got ${got[i]}, want ${w}`));
    };
    it('FP64 rows give LightGBM\'s output', async () => {
      const res = await infer('lgbm', v2('FP64', ref.fp64.inputs));
      assert.equal(res.status, 200, JSON.stringify(res.body));
      close(output(res, 'predict'), ref.fp64.predict);
    });
    it('INT64 rows next to split thresholds past 2^24 give LightGBM\'s output (rounded through float32)', async () => {
      const res = await infer('lgbm', v2('INT64', ref.int64.inputs));
      assert.equal(res.status, 200, JSON.stringify(res.body));
      close(output(res, 'predict'), ref.int64.predict);
    });
    it('FP32 rows with null give LightGBM\'s output for float32 with NaN', async () => {
      const res = await infer('lgbm', v2('FP32', ref.fp32_missing.inputs));
      assert.equal(res.status, 200, JSON.stringify(res.body));
      close(output(res, 'predict'), ref.fp32_missing.predict);
    });
  });

  it('null in integer data is a 400 naming the field', async () => {
    const res = await infer('xgb', v2('INT64', [[1, null, 3]]));
    assert.equal(res.status, 400);
    assert.match(JSON.stringify(res.body), /inputs\[0\]\.data: element 1 is null, expected an integer for INT64/);
  });

  describe('k-nearest neighbours match scikit-learn exactly on equal distances', () => {
    for (const name of KNN) {
      const e = readJson<KnnExpected>(join(SKL, name, 'expected.json'));
      it(`${name} (${e.fit_method}): FP64 predict${e.predict_proba ? ' and predict_proba' : ''} are sklearn's, bit for bit`, async () => {
        const outs = e.predict_proba ? ['predict', 'predict_proba'] : ['predict'];
        const res = await infer(dns(name), v2('FP64', e.X, outs));
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.deepEqual(output(res, 'predict'), e.predict);
        if (e.predict_proba) assert.deepEqual(output(res, 'predict_proba'), e.predict_proba.flat());
      });
      // Brute force takes int64 rows down another path in sklearn (argpartition, not ArgKmin).
      it(`${name}: INT64 queries give what sklearn gives for int64 rows`, async () => {
        const rows = e.X.slice(0, e.int_rows);
        const res = await infer(dns(name), v2('INT64', rows, e.predict_proba_int ? ['predict', 'predict_proba'] : ['predict']));
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.deepEqual(output(res, 'predict'), e.predict_int);
        if (e.predict_proba_int) assert.deepEqual(output(res, 'predict_proba'), e.predict_proba_int.flat());
      });
    }
    it('V1 predict_proba (PREDICT_PROBA=true) is sklearn\'s too', async () => {
      const e = readJson<KnnExpected>(join(SKL, 'knn_ties_kd', 'expected.json'));
      const res = await postJson(`${srv.http}/v1/models/knn-proba-v1:predict`, { instances: e.X });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(res.body.predictions, e.predict_proba);
    });
  });

  describe('KServe spec fields inferd does not implement are refused at apply', () => {
    for (const field of ['transformer', 'explainer'] as const) {
      it(`spec.${field} → 400 naming the field, and nothing is created`, async () => {
        const doc = isvc(`with-${field}`, 'xgboost', XGB) as { spec: Record<string, unknown> };
        doc.spec[field] = field === 'transformer'
          ? { containers: [{ name: 'kserve-container', image: 'example.invalid/transformer:1' }] }
          : { alibi: { type: 'AnchorTabular' } };
        const res = await postJson(`${srv.http}/apis/inferd.dev/v1/apply`, manifest([doc]), { 'content-type': 'application/yaml' });
        assert.equal(res.status, 400, JSON.stringify(res.body));
        const text = JSON.stringify(res.body);
        assert.match(text, new RegExp(`field spec\\.${field}: not supported by inferd`));
        const get = await fetch(`${srv.http}/apis/serving.kserve.io/v1beta1/namespaces/default/inferenceservices/with-${field}`);
        assert.equal(get.status, 404);
      });
    }
  });
});
