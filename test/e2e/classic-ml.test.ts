/**
 * Classic ML end to end: every XGBoost and LightGBM fixture (and every scikit-learn
 * fixture, when that runtime is there) served by one real `inferd serve`, with V1
 * REST, V2 REST and V2 gRPC answers compared to what the real libraries computed.
 *
 * XGBoost: bit-identical float32 (expected.json holds exact float32 values).
 * LightGBM: within 1e-9 relative. scikit-learn: within 1e-12 relative (1e-15 absolute
 * floor), as docs/runtimes/sklearn.md claims; class labels identical.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { REPO_ROOT, startInferd, waitReady, waitSettled, type InferdProcess } from '../helpers/inferd-process.js';
import { assertClose, postJson } from '../helpers/fixtures.js';

const XGB_DIR = join(REPO_ROOT, 'test/fixtures/xgboost');
const LGBM_DIR = join(REPO_ROOT, 'test/fixtures/lightgbm');
const SKL_DIR = join(REPO_ROOT, 'test/fixtures/sklearn');

type Row = Array<number | null>;
type Cell = number | string | boolean | null;
type Values = Array<number | number[]>;

interface TreeExpected {
  objective?: string;
  inputs: Row[];
  outputs: Record<string, Values>;
}

interface SklExpected {
  estimator: string;
  input_kind: 'numeric' | 'strings';
  X: Cell[][];
  predict?: Array<number | string | boolean | number[]>;
  predict_proba?: number[][];
  decision_function?: number[] | number[][];
  transform?: number[][];
}

interface TreeCase {
  kind: 'xgboost' | 'lightgbm';
  /** InferenceService name. */
  name: string;
  fixture: string;
  /** What storageUri points at: the fixture directory or one file in it. */
  target: string;
  args: string[];
  /** Key of expected.json `outputs` this InferenceService must reproduce. */
  key: string;
  exp: TreeExpected;
}

interface SklCase {
  name: string;
  fixture: string;
  env: Record<string, string>;
  exp: SklExpected;
}

const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, 'utf8')) as T;
const flat = (v: Values): number[] => v.flatMap((x) => (Array.isArray(x) ? x : [x]));
const widthOf = (v: Values): number => (Array.isArray(v[0]) ? (v[0] as number[]).length : 1);
const fixtureDirs = (root: string): string[] =>
  existsSync(root) ? readdirSync(root).filter((d) => existsSync(join(root, d, 'expected.json'))).sort() : [];

/** A DNS-1035 label: lowercase letters, digits and '-', starting with a letter, at most 63 characters. */
function dnsName(...parts: string[]): string {
  const name = parts.join('-').toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/-+/g, '-').replace(/^-+|-+$/g, '');
  assert.ok(/^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/.test(name), `"${name}" is not a DNS-1035 label`);
  return name;
}

// ---------------------------------------------------------------- cases

const xgbCases: TreeCase[] = [];
for (const fixture of fixtureDirs(XGB_DIR)) {
  const dir = join(XGB_DIR, fixture);
  const exp = readJson<TreeExpected>(join(dir, 'expected.json'));
  // findModelFile prefers model.bst, then model.json, then model.ubj: name each file so every format is served.
  for (const file of ['model.json', 'model.ubj', 'model.bst'].filter((f) => existsSync(join(dir, f)))) {
    const fmt = file.slice('model.'.length);
    const add = (suffix: string[], args: string[], key: string) =>
      xgbCases.push({ kind: 'xgboost', name: dnsName('xgb', fixture, fmt, ...suffix), fixture, target: join(dir, file), args, key, exp });
    add([], [], 'predict');
    add(['margin'], ['--output_margin=true'], 'margin');
    if (exp.outputs.predict_best) add(['best'], ['--use_best_iteration=true'], 'predict_best');
    if (exp.outputs.margin_best) add(['best', 'margin'], ['--use_best_iteration=true', '--output_margin=true'], 'margin_best');
  }
}

const lgbmCases: TreeCase[] = [];
for (const fixture of fixtureDirs(LGBM_DIR)) {
  const dir = join(LGBM_DIR, fixture);
  const exp = readJson<TreeExpected>(join(dir, 'expected.json'));
  const base = fixture.replace(/^lgbm-/, '');
  // The directory form (findModelFile picks model.txt) and the file form.
  lgbmCases.push({ kind: 'lightgbm', name: dnsName('lgbm', base), fixture, target: dir, args: [], key: 'predict', exp });
  lgbmCases.push({ kind: 'lightgbm', name: dnsName('lgbm', base, 'raw'), fixture, target: join(dir, 'model.txt'), args: ['--raw_score=true'], key: 'raw_score', exp });
}

const sklFixtures = existsSync(SKL_DIR)
  ? readdirSync(SKL_DIR).filter((d) => d !== 'hostile' && statSync(join(SKL_DIR, d)).isDirectory() && existsSync(join(SKL_DIR, d, 'expected.json'))).sort()
  : [];
const sklCases: SklCase[] = [];
for (const fixture of sklFixtures) {
  const exp = readJson<SklExpected>(join(SKL_DIR, fixture, 'expected.json'));
  sklCases.push({ name: dnsName('skl', fixture), fixture, env: {}, exp });
}
// PREDICT_PROBA=true makes V1 answer probabilities: one numeric-input and one string-input classifier.
for (const fixture of ['logreg_multinomial', 'pipeline_column_transformer']) {
  const c = sklCases.find((s) => s.fixture === fixture);
  if (c?.exp.predict_proba) sklCases.push({ name: dnsName('skl', fixture, 'proba'), fixture, env: { PREDICT_PROBA: 'true' }, exp: c.exp });
}

function isvc(name: string, format: string, storageUri: string, args: string[] = [], env: Record<string, string> = {}) {
  const model: Record<string, unknown> = { modelFormat: { name: format }, storageUri };
  if (args.length) model.args = args;
  const envList = Object.entries(env).map(([n, value]) => ({ name: n, value }));
  if (envList.length) model.env = envList;
  return { apiVersion: 'serving.kserve.io/v1beta1', kind: 'InferenceService', metadata: { name }, spec: { predictor: { model } } };
}

/** Multi-document YAML; JSON documents are valid YAML. */
const manifest = (docs: unknown[]): string => docs.map((d) => JSON.stringify(d, null, 1)).join('\n---\n') + '\n';

// ---------------------------------------------------------------- comparisons

/**
 * XGBoost outputs against the exact float32 values XGBoost gave. `bits`: compare with
 * Object.is (binary transports, where the sign of zero travels). JSON: the value must be a
 * float32 value (Math.fround(a) === a) equal to the expected one; JSON.stringify writes
 * -0 as 0, so a -0 from XGBoost reads back as 0 there (the binary checks cover its sign).
 */
function assertSameF32(actual: ArrayLike<unknown>, want: number[], what: string, bits = false): void {
  assert.equal(actual.length, want.length, `${what}: ${actual.length} values, expected ${want.length}`);
  for (let i = 0; i < want.length; i++) {
    const a = actual[i];
    const e = want[i]!;
    assert.ok(Object.is(Math.fround(e), e), `${what}[${i}]: expected value ${e} is not a float32 value`);
    const same = bits ? Object.is(a, e) : typeof a === 'number' && Math.fround(a) === a && a === e;
    if (!same) assert.fail(`${what}[${i}]: got ${Object.is(a, -0) ? '-0' : String(a)}, XGBoost gave ${Object.is(e, -0) ? '-0' : e}`);
  }
}

/** Within `rel` relative (exact match also accepted), as LightGBM's unit test compares. */
function assertRel(actual: ArrayLike<unknown>, want: number[], rel: number, what: string): void {
  assert.equal(actual.length, want.length, `${what}: ${actual.length} values, expected ${want.length}`);
  for (let i = 0; i < want.length; i++) {
    const a = actual[i];
    const e = want[i]!;
    if (typeof a !== 'number') assert.fail(`${what}[${i}]: got ${JSON.stringify(a)}, expected ${e}`);
    const err = Math.abs(a - e) / Math.max(Math.abs(e), 1e-300);
    if (!(a === e || err <= rel)) assert.fail(`${what}[${i}]: got ${a}, expected ${e} (relative error ${err.toExponential(2)} > ${rel})`);
  }
}

/** sklearn: |a - b| <= 1e-12·|b| + 1e-15 (docs/runtimes/sklearn.md: matched within 1e-12 relative). */
function assertSkl(actual: ArrayLike<unknown>, want: number[], what: string): void {
  assert.equal(actual.length, want.length, `${what}: ${actual.length} values, expected ${want.length}`);
  for (let i = 0; i < want.length; i++) {
    const a = actual[i];
    const b = want[i]!;
    if (typeof a !== 'number') assert.fail(`${what}[${i}]: got ${JSON.stringify(a)}, sklearn gave ${b}`);
    if (!(Math.abs(a - b) <= 1e-12 * Math.abs(b) + 1e-15)) assert.fail(`${what}[${i}]: got ${a}, sklearn gave ${b} (diff ${Math.abs(a - b)})`);
  }
}

function compareTree(c: TreeCase, actual: ArrayLike<unknown>, want: number[], what: string, bits = false): void {
  if (c.kind === 'xgboost') assertSameF32(actual, want, what, bits);
  else assertRel(actual, want, 1e-9, what);
}

/** Raw little-endian output bytes as numbers. */
function fromRaw(raw: Buffer, datatype: 'FP32' | 'FP64'): number[] {
  const copy = raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength);
  return Array.from(datatype === 'FP32' ? new Float32Array(copy) : new Float64Array(copy));
}

// ---------------------------------------------------------------- requests

interface V2Output { name: string; datatype: string; shape: number[]; data: unknown[] }

/**
 * V2 REST with the input as binary tensor data (JSON cannot carry NaN). Outputs come back as
 * JSON, or with `binaryOut` as raw little-endian bytes in `raw`.
 */
async function inferBinary(base: string, model: string, datatype: 'FP32' | 'FP64', shape: number[], values: number[], binaryOut = false): Promise<{ status: number; body: any; raw?: Buffer }> {
  const data = datatype === 'FP32' ? new Float32Array(values) : new Float64Array(values);
  const header = Buffer.from(JSON.stringify({
    inputs: [{ name: 'input-0', datatype, shape, parameters: { binary_data_size: data.byteLength } }],
    ...(binaryOut ? { outputs: [{ name: 'predict', parameters: { binary_data: true } }] } : {}),
  }));
  const res = await fetch(`${base}/v2/models/${model}/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) },
    body: Buffer.concat([header, Buffer.from(data.buffer, data.byteOffset, data.byteLength)]),
  });
  const bytes = Buffer.from(await res.arrayBuffer());
  const jsonLen = res.headers.get('inference-header-content-length');
  const text = (jsonLen === null ? bytes : bytes.subarray(0, Number(jsonLen))).toString('utf8');
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Left as text for the assertion to show.
  }
  return jsonLen === null ? { status: res.status, body } : { status: res.status, body, raw: bytes.subarray(Number(jsonLen)) };
}

const toNumbers = (rows: Row[]): number[] => rows.flatMap((r) => r.map((v) => (v === null ? NaN : v)));

// ---------------------------------------------------------------- gRPC

const protoDef = protoLoader.loadSync(join(REPO_ROOT, 'proto/grpc_predict_v2.proto'), { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
const { inference } = grpc.loadPackageDefinition(protoDef) as any;

function call<T>(client: any, method: string, req: unknown): Promise<T> {
  return new Promise((resolve, reject) => client[method](req, (err: grpc.ServiceError | null, res: T) => (err ? reject(err) : resolve(res))));
}

// ---------------------------------------------------------------- server

interface IsvcStatus { name: string; ready: string; reason?: string; message?: string }

/** Polls the InferenceService list until none of `names` has PredictorReady Unknown. */
async function settleAll(base: string, names: string[], timeoutMs = 25_000): Promise<Map<string, IsvcStatus>> {
  const end = Date.now() + timeoutMs;
  let last = new Map<string, IsvcStatus>();
  while (Date.now() < end) {
    const res = await fetch(`${base}/apis/serving.kserve.io/v1beta1/inferenceservices`);
    if (res.ok) {
      const list = (await res.json()) as { items: Array<Record<string, any>> };
      last = new Map();
      for (const item of list.items) {
        const cond = item.status?.conditions?.find((c: { type: string }) => c.type === 'PredictorReady');
        last.set(item.metadata.name, { name: item.metadata.name, ready: cond?.status ?? 'Unknown', reason: cond?.reason, message: cond?.message });
      }
      if (names.every((n) => last.has(n) && last.get(n)!.ready !== 'Unknown')) return last;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const pending = names.filter((n) => (last.get(n)?.ready ?? 'Unknown') === 'Unknown');
  throw new Error(`InferenceServices did not settle: ${pending.slice(0, 10).join(', ')}${pending.length > 10 ? ` (+${pending.length - 10})` : ''}`);
}

describe('classic ML (XGBoost, LightGBM, scikit-learn) through a real inferd serve', () => {
  let srv: InferdProcess;
  let client: any;
  let work: string;
  let statuses = new Map<string, IsvcStatus>();
  /** Why sklearn cases skip, or undefined when they are served. */
  let sklSkip: string | undefined = sklFixtures.length ? undefined : 'test/fixtures/sklearn is absent';
  const treeCases = [...xgbCases, ...lgbmCases];

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'inferd-classic-ml-'));
    const file = join(work, 'models.yaml');
    writeFileSync(file, manifest(treeCases.map((c) => isvc(c.name, c.kind, `file://${c.target}`, c.args))));
    srv = await startInferd(['-f', file]);
    client = new inference.GRPCInferenceService(srv.grpc, grpc.credentials.createInsecure());
    statuses = await settleAll(srv.http, treeCases.map((c) => c.name));

    if (sklSkip === undefined) {
      // Served only when this build registers a runtime for modelFormat sklearn (src/runtimes/index.ts).
      const runtimes = (await (await fetch(`${srv.http}/apis/serving.kserve.io/v1alpha1/clusterservingruntimes`)).json()) as {
        items: Array<{ spec: { supportedModelFormats?: Array<{ name: string }> } }>;
      };
      const registered = runtimes.items.some((r) => r.spec.supportedModelFormats?.some((f) => f.name === 'sklearn'));
      if (!registered) sklSkip = 'no runtime for modelFormat sklearn is registered in src/runtimes/index.ts';
    }
    if (sklSkip === undefined) {
      const body = manifest(sklCases.map((c) => isvc(c.name, 'sklearn', `file://${join(SKL_DIR, c.fixture)}`, [], c.env)));
      const applied = await postJson(`${srv.http}/apis/inferd.dev/v1/apply`, body, { 'content-type': 'application/yaml' });
      assert.equal(applied.status, 200, JSON.stringify(applied.body));
      for (const [k, v] of await settleAll(srv.http, sklCases.map((c) => c.name))) statuses.set(k, v);
    }
  });

  after(async () => {
    client?.close();
    if (srv) assert.equal(await srv.stop(), 0, 'inferd exits 0 on SIGTERM');
  });

  const assertLoaded = (name: string) => {
    const s = statuses.get(name);
    assert.ok(s, `InferenceService ${name} not found`);
    assert.equal(s.ready, 'True', `${name} did not load: ${s.reason ?? ''} ${s.message ?? ''}`);
  };

  it('loads every fixture model and reports the server ready', async () => {
    assert.ok(xgbCases.length >= 14 * 3 * 2, `only ${xgbCases.length} XGBoost cases`);
    assert.ok(lgbmCases.length >= 5 * 2, `only ${lgbmCases.length} LightGBM cases`);
    const failed = [...statuses.values()].filter((s) => s.ready !== 'True').map((s) => `${s.name}: ${s.reason} ${s.message}`);
    assert.deepEqual(failed, [], 'models that did not load');
    await waitReady(srv.http);
  });

  for (const c of treeCases) {
    const n = c.exp.inputs.length;
    const nf = c.exp.inputs[0]!.length;
    const want = c.exp.outputs[c.key]!;
    const width = widthOf(want);
    const dtype = c.kind === 'xgboost' ? 'FP32' : 'FP64';
    const argText = c.args.length ? ` ${c.args.join(' ')}` : '';
    const from = c.target.endsWith('/' + c.fixture) ? 'directory' : c.target.slice(c.target.lastIndexOf('/') + 1);
    it(`${c.kind} ${c.fixture} (${from}${argText}) → ${c.key}: V1 and V2 REST`, async () => {
      assertLoaded(c.name);
      const meta = (await (await fetch(`${srv.http}/v2/models/${c.name}`)).json()) as { inputs: V2Output[]; outputs: V2Output[] };
      assert.deepEqual(meta.inputs, [{ name: 'input-0', datatype: dtype, shape: [-1, nf] }]);
      assert.deepEqual(meta.outputs, [{ name: 'predict', datatype: dtype, shape: width === 1 ? [-1] : [-1, width] }]);

      // V1: instances with null for missing values, predictions as booster.predict().tolist().
      const v1 = await postJson(`${srv.http}/v1/models/${c.name}:predict`, { instances: c.exp.inputs });
      assert.equal(v1.status, 200, JSON.stringify(v1.body));
      const preds = v1.body.predictions as Values;
      assert.equal(preds.length, n, 'V1 rows');
      for (const p of preds) assert.equal(Array.isArray(p) ? p.length : 1, width, 'V1 row width');
      compareTree(c, flat(preds), flat(want), `${c.name} V1`);

      // V2, every row, binary input (NaN for missing), JSON output.
      const v2 = await inferBinary(srv.http, c.name, dtype, [n, nf], toNumbers(c.exp.inputs));
      assert.equal(v2.status, 200, JSON.stringify(v2.body));
      const [out] = v2.body.outputs as V2Output[];
      assert.equal(v2.body.outputs.length, 1);
      assert.deepEqual([out!.name, out!.datatype, out!.shape], ['predict', dtype, width === 1 ? [n] : [n, width]]);
      compareTree(c, out!.data, flat(want), `${c.name} V2 binary-in`);

      // V2 with binary output: the bytes themselves (for XGBoost, bit for bit, sign of zero included).
      const bin = await inferBinary(srv.http, c.name, dtype, [n, nf], toNumbers(c.exp.inputs), true);
      assert.equal(bin.status, 200, JSON.stringify(bin.body));
      assert.equal(bin.body.outputs[0].parameters.binary_data_size, n * width * (dtype === 'FP32' ? 4 : 8));
      assert.ok(bin.raw, 'binary output section');
      compareTree(c, fromRaw(bin.raw, dtype), flat(want), `${c.name} V2 binary-out`, true);

      // V2, JSON all the way: the rows without missing values, nested data.
      const complete = c.exp.inputs.map((r, i) => [r, i] as const).filter(([r]) => !r.includes(null));
      assert.ok(complete.length > 0);
      const json = await postJson(`${srv.http}/v2/models/${c.name}/infer`, {
        id: c.name,
        inputs: [{ name: 'input-0', datatype: dtype, shape: [complete.length, nf], data: complete.map(([r]) => r) }],
        outputs: [{ name: 'predict' }],
      });
      assert.equal(json.status, 200, JSON.stringify(json.body));
      assert.equal(json.body.id, c.name);
      assert.equal(json.body.model_name, c.name);
      const jout = json.body.outputs[0] as V2Output;
      assert.deepEqual(jout.shape, width === 1 ? [complete.length] : [complete.length, width]);
      compareTree(c, jout.data, complete.flatMap(([, i]) => flat([want[i]!])), `${c.name} V2 JSON`);
    });
  }

  it('V2 gRPC: typed contents with NaN, raw contents bit for bit, FP64 for LightGBM', async () => {
    const pick = (name: string) => {
      const c = treeCases.find((t) => t.name === name);
      assert.ok(c, `no case ${name}`);
      assertLoaded(name);
      return c;
    };
    const shapeStr = (s: number[]) => s.map(String);

    // XGBoost multi-class probabilities, fp32_contents carrying NaN for the missing values.
    const soft = pick('xgb-multi-softprob-ubj');
    const n = soft.exp.inputs.length;
    const nf = soft.exp.inputs[0]!.length;
    const r1 = await call<any>(client, 'ModelInfer', {
      model_name: soft.name, id: 'g-soft',
      inputs: [{ name: 'input-0', datatype: 'FP32', shape: [n, nf], contents: { fp32_contents: toNumbers(soft.exp.inputs) } }],
    });
    assert.equal(r1.id, 'g-soft');
    assert.deepEqual([r1.outputs[0].name, r1.outputs[0].datatype, r1.outputs[0].shape], ['predict', 'FP32', shapeStr([n, 3])]);
    assertSameF32(r1.outputs[0].contents.fp32_contents, flat(soft.exp.outputs.predict!), 'gRPC xgb multi_softprob', true);

    // XGBoost categorical margins, raw_input_contents → raw_output_contents, compared byte for byte.
    const cat = pick('xgb-categorical-json-margin');
    const cn = cat.exp.inputs.length;
    const x = new Float32Array(toNumbers(cat.exp.inputs));
    const r2 = await call<any>(client, 'ModelInfer', {
      model_name: cat.name,
      inputs: [{ name: 'input-0', datatype: 'FP32', shape: [cn, cat.exp.inputs[0]!.length] }],
      raw_input_contents: [Buffer.from(x.buffer)],
    });
    assert.equal(r2.raw_output_contents.length, 1);
    const wantBytes = Buffer.from(new Float32Array(flat(cat.exp.outputs.margin!)).buffer);
    assert.ok(Buffer.from(r2.raw_output_contents[0]).equals(wantBytes), 'gRPC xgb categorical margins are not bit-identical');

    // XGBoost legacy binary model through gRPC as well.
    const bst = pick('xgb-count-poisson-bst');
    const r3 = await call<any>(client, 'ModelInfer', {
      model_name: bst.name,
      inputs: [{ name: 'input-0', datatype: 'FP32', shape: [bst.exp.inputs.length, bst.exp.inputs[0]!.length], contents: { fp32_contents: toNumbers(bst.exp.inputs) } }],
    });
    assertSameF32(r3.outputs[0].contents.fp32_contents, flat(bst.exp.outputs.predict!), 'gRPC xgb count_poisson bst', true);

    // XGBoost best-iteration margins, where XGBoost gives a -0: protobuf floats keep the sign.
    const best = pick('xgb-early-stopping-json-best-margin');
    const r6 = await call<any>(client, 'ModelInfer', {
      model_name: best.name,
      inputs: [{ name: 'input-0', datatype: 'FP32', shape: [best.exp.inputs.length, best.exp.inputs[0]!.length], contents: { fp32_contents: toNumbers(best.exp.inputs) } }],
    });
    assertSameF32(r6.outputs[0].contents.fp32_contents, flat(best.exp.outputs.margin_best!), 'gRPC xgb early_stopping margin_best', true);

    // LightGBM multiclass, fp64_contents.
    const iris = pick('lgbm-multi-iris');
    const r4 = await call<any>(client, 'ModelInfer', {
      model_name: iris.name,
      inputs: [{ name: 'input-0', datatype: 'FP64', shape: [iris.exp.inputs.length, 4], contents: { fp64_contents: toNumbers(iris.exp.inputs) } }],
    });
    assert.deepEqual([r4.outputs[0].datatype, r4.outputs[0].shape], ['FP64', shapeStr([iris.exp.inputs.length, 3])]);
    assertRel(r4.outputs[0].contents.fp64_contents, flat(iris.exp.outputs.predict!), 1e-9, 'gRPC lgbm multi-iris');

    // LightGBM raw scores with missing values, raw contents.
    const diab = pick('lgbm-reg-diabetes-raw');
    const d = new Float64Array(toNumbers(diab.exp.inputs));
    const r5 = await call<any>(client, 'ModelInfer', {
      model_name: diab.name,
      inputs: [{ name: 'input-0', datatype: 'FP64', shape: [diab.exp.inputs.length, diab.exp.inputs[0]!.length] }],
      raw_input_contents: [Buffer.from(d.buffer)],
    });
    const raw: Buffer = r5.raw_output_contents[0];
    const got = new Float64Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    assertRel(got, flat(diab.exp.outputs.raw_score!), 1e-9, 'gRPC lgbm reg-diabetes raw');

    // A row of the wrong width is INVALID_ARGUMENT naming the shape.
    await assert.rejects(
      call(client, 'ModelInfer', { model_name: soft.name, inputs: [{ name: 'input-0', datatype: 'FP32', shape: [1, nf + 1], contents: { fp32_contents: new Array(nf + 1).fill(0) } }] }),
      (err: grpc.ServiceError) => err.code === grpc.status.INVALID_ARGUMENT && err.details.includes(`[1,${nf + 1}]`) && err.details.includes(`[-1,${nf}]`),
    );
  });

  // ------------------------------------------------------------ scikit-learn

  if (sklFixtures.length === 0) {
    it('scikit-learn fixtures', (t) => {
      t.skip('test/fixtures/sklearn is absent');
    });
  }

  for (const c of sklCases) {
    const e = c.exp;
    const rows = e.X.length;
    const cols = e.X[0]!.length;
    const outputsWanted = (['predict', 'predict_proba', 'decision_function', 'transform'] as const).filter((k) => e[k] !== undefined);
    const isClassifier = e.predict_proba !== undefined || e.decision_function !== undefined;
    it(`sklearn ${c.fixture}${c.env.PREDICT_PROBA ? ' (PREDICT_PROBA=true)' : ''}: V1 and V2 REST`, async (t) => {
      if (sklSkip !== undefined) {
        t.skip(sklSkip);
        return;
      }
      assertLoaded(c.name);
      const meta = (await (await fetch(`${srv.http}/v2/models/${c.name}`)).json()) as { inputs: V2Output[]; outputs: V2Output[] };
      assert.deepEqual(meta.inputs, [{ name: 'input-0', datatype: e.input_kind === 'strings' ? 'BYTES' : 'FP64', shape: [-1, cols] }]);
      assert.deepEqual(meta.outputs.map((o) => o.name).sort(), [...outputsWanted].sort(), 'declared outputs');

      // V1: the predict labels (or transform rows), or predict_proba rows with PREDICT_PROBA=true.
      const v1 = await postJson(`${srv.http}/v1/models/${c.name}:predict`, { instances: e.X });
      assert.equal(v1.status, 200, JSON.stringify(v1.body));
      const preds = v1.body.predictions as unknown[];
      assert.equal(preds.length, rows);
      if (c.env.PREDICT_PROBA) assertSkl((preds as number[][]).flat(), e.predict_proba!.flat(), `${c.name} V1 predict_proba`);
      else if (e.predict === undefined) assertSkl((preds as number[][]).flat(), e.transform!.flat(), `${c.name} V1 transform`);
      else if (isClassifier) assert.deepEqual(preds, e.predict, `${c.name} V1 labels`);
      else assertSkl((preds as number[]).flat(), (e.predict as number[]).flat(), `${c.name} V1 predict`);

      // V2: strings as BYTES JSON ('' = missing); numbers as JSON, or binary FP64 when NaN is needed.
      let v2: { status: number; body: any };
      if (e.input_kind === 'strings') {
        v2 = await postJson(`${srv.http}/v2/models/${c.name}/infer`, {
          inputs: [{ name: 'input-0', datatype: 'BYTES', shape: [rows, cols], data: e.X.flat().map((v) => (v === null ? '' : String(v))) }],
        });
      } else if (e.X.some((r) => r.includes(null))) {
        v2 = await inferBinary(srv.http, c.name, 'FP64', [rows, cols], e.X.flat().map((v) => (v === null ? NaN : Number(v))));
      } else {
        v2 = await postJson(`${srv.http}/v2/models/${c.name}/infer`, { inputs: [{ name: 'input-0', datatype: 'FP64', shape: [rows, cols], data: e.X }] });
      }
      assert.equal(v2.status, 200, JSON.stringify(v2.body));
      const outs = v2.body.outputs as V2Output[];
      assert.deepEqual(outs.map((o) => o.name).sort(), [...outputsWanted].sort(), 'V2 outputs');
      for (const o of outs) {
        assert.equal(o.shape[0], rows, `${o.name} rows`);
        if (o.name === 'predict') {
          if (isClassifier) assert.deepEqual(o.data, e.predict, `${c.name} V2 predict labels`);
          else assertSkl(o.data, (e.predict as Values).flatMap((v) => v), `${c.name} V2 predict`);
        } else {
          assert.equal(o.datatype, 'FP64', `${o.name} datatype`);
          assertSkl(o.data, (e[o.name as 'predict_proba'] as Values).flatMap((v) => v), `${c.name} V2 ${o.name}`);
        }
      }
    });
  }

  // ------------------------------------------------------------ bad input

  it('a row of the wrong width is 400 naming the row (V1) or the shape (V2)', async () => {
    const xgb = xgbCases.find((c) => c.name === 'xgb-binary-logistic-json')!;
    const nf = xgb.exp.inputs[0]!.length;
    const short = [[1, 2, 3, 4, 5, 6].slice(0, nf), [1, 2, 3, 4, 5, 6, 7].slice(0, nf - 1), [1, 2, 3, 4, 5, 6].slice(0, nf)];
    const v1 = await postJson(`${srv.http}/v1/models/${xgb.name}:predict`, { instances: short });
    assert.equal(v1.status, 400, JSON.stringify(v1.body));
    assert.match(v1.body.error, /instances\[1\]/);
    assert.match(v1.body.error, new RegExp(`\\b${nf - 1}\\b.*\\b${nf}\\b`));

    const bad = await postJson(`${srv.http}/v1/models/${xgb.name}:predict`, { instances: [[1, 2, 'x', 4, 5, 6].slice(0, nf)] });
    assert.equal(bad.status, 400, JSON.stringify(bad.body));
    assert.match(bad.body.error, /instances\[0\]\[2\]/);

    const v2 = await postJson(`${srv.http}/v2/models/${xgb.name}/infer`, {
      inputs: [{ name: 'input-0', datatype: 'FP32', shape: [2, nf + 1], data: new Array(2 * (nf + 1)).fill(0.5) }],
    });
    assert.equal(v2.status, 400, JSON.stringify(v2.body));
    assert.ok(v2.body.error.includes(`[2,${nf + 1}]`) && v2.body.error.includes(`[-1,${nf}]`), v2.body.error);

    const lgbm = lgbmCases.find((c) => c.name === 'lgbm-multi-iris')!;
    const long = [[1, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3, 4, 5]];
    const l1 = await postJson(`${srv.http}/v1/models/${lgbm.name}:predict`, { instances: long });
    assert.equal(l1.status, 400, JSON.stringify(l1.body));
    assert.match(l1.body.error, /instances\[2\]/);
    const l2 = await postJson(`${srv.http}/v2/models/${lgbm.name}/infer`, { inputs: [{ name: 'input-0', datatype: 'FP64', shape: [1, 3], data: [1, 2, 3] }] });
    assert.equal(l2.status, 400, JSON.stringify(l2.body));
    assert.ok(l2.body.error.includes('[1,3]') && l2.body.error.includes('[-1,4]'), l2.body.error);
  });

  it('sklearn: a row of the wrong width is 400 naming the row', async (t) => {
    if (sklSkip !== undefined) {
      t.skip(sklSkip);
      return;
    }
    const c = sklCases.find((s) => s.fixture === 'logreg_multinomial') ?? sklCases.find((s) => s.exp.input_kind === 'numeric')!;
    assertLoaded(c.name);
    const cols = c.exp.X[0]!.length;
    const instances = [c.exp.X[0], c.exp.X[1], c.exp.X[2]!.slice(0, cols - 1)];
    const v1 = await postJson(`${srv.http}/v1/models/${c.name}:predict`, { instances });
    assert.equal(v1.status, 400, JSON.stringify(v1.body));
    assert.match(v1.body.error, /instances\[2\]/);
    const v2 = await postJson(`${srv.http}/v2/models/${c.name}/infer`, {
      inputs: [{ name: 'input-0', datatype: 'FP64', shape: [1, cols + 1], data: new Array(cols + 1).fill(0) }],
    });
    assert.equal(v2.status, 400, JSON.stringify(v2.body));
    assert.ok(v2.body.error.includes(`[1,${cols + 1}]`), v2.body.error);
  });

  it('a corrupt model file fails its InferenceService with ModelLoadFailed; the other models keep serving', async () => {
    const xgbBad = join(work, 'corrupt-xgb');
    mkdirSync(xgbBad);
    writeFileSync(join(xgbBad, 'model.json'), Buffer.concat([Buffer.from('{"learner": {"gradient_booster": '), Buffer.from([0, 1, 0xff, 0xfe, 0x7b]), Buffer.from(' garbage')]));
    const lgbmBad = join(work, 'corrupt-lgbm');
    mkdirSync(lgbmBad);
    const text = readFileSync(join(LGBM_DIR, 'lgbm-binary-bc', 'model.txt'), 'utf8');
    writeFileSync(join(lgbmBad, 'model.txt'), text.slice(0, Math.floor(text.length / 2))); // cut mid-tree
    const applied = await postJson(`${srv.http}/apis/inferd.dev/v1/apply`, manifest([
      isvc('xgb-corrupt', 'xgboost', `file://${join(xgbBad, 'model.json')}`),
      isvc('lgbm-corrupt', 'lightgbm', `file://${lgbmBad}`),
    ]), { 'content-type': 'application/yaml' });
    assert.equal(applied.status, 200, JSON.stringify(applied.body));

    for (const name of ['xgb-corrupt', 'lgbm-corrupt']) {
      const settled = await waitSettled(srv.http, name);
      const cond = settled.status.conditions.find((x: { type: string }) => x.type === 'PredictorReady');
      assert.equal(cond.status, 'False', `${name}: ${JSON.stringify(cond)}`);
      assert.equal(cond.reason, 'ModelLoadFailed', `${name}: ${JSON.stringify(cond)}`);
      assert.ok(typeof cond.message === 'string' && cond.message.length > 0, `${name}: the condition says why`);
      assert.equal(settled.status.modelStatus.lastFailureInfo?.reason, 'ModelLoadFailed');
      assert.equal(settled.status.modelStatus.states.targetModelState, 'FailedToLoad');
      const ready = await fetch(`${srv.http}/v2/models/${name}/ready`);
      assert.equal(ready.status, 503);
      const infer = await postJson(`${srv.http}/v2/models/${name}/infer`, { inputs: [{ name: 'input-0', datatype: 'FP32', shape: [1, 1], data: [0] }] });
      assert.equal(infer.status, 503, JSON.stringify(infer.body));
    }

    // The fixture models still answer, and still exactly.
    const still = [xgbCases.find((c) => c.name === 'xgb-multi-softprob-json')!, lgbmCases.find((c) => c.name === 'lgbm-binary-bc')!];
    for (const c of still) {
      assert.equal((await fetch(`${srv.http}/v2/models/${c.name}/ready`)).status, 200);
      const n = c.exp.inputs.length;
      const res = await inferBinary(srv.http, c.name, c.kind === 'xgboost' ? 'FP32' : 'FP64', [n, c.exp.inputs[0]!.length], toNumbers(c.exp.inputs));
      assert.equal(res.status, 200, JSON.stringify(res.body));
      compareTree(c, res.body.outputs[0].data, flat(c.exp.outputs[c.key]!), `${c.name} after the failed loads`);
    }
    if (sklSkip === undefined) {
      const s = sklCases.find((x) => x.fixture === 'pipeline_column_transformer') ?? sklCases[0]!;
      const v1 = await postJson(`${srv.http}/v1/models/${s.name}:predict`, { instances: s.exp.X });
      assert.equal(v1.status, 200, JSON.stringify(v1.body));
      if (s.exp.predict !== undefined && !s.env.PREDICT_PROBA) assert.deepEqual(v1.body.predictions, s.exp.predict);
    }
    // V1 too (poisson outputs are > 1, so the helper's tolerance is relative here).
    const v1 = await postJson(`${srv.http}/v1/models/lgbm-poisson:predict`, { instances: lgbmCases.find((c) => c.name === 'lgbm-poisson')!.exp.inputs });
    assertClose(v1.body.predictions, lgbmCases.find((c) => c.name === 'lgbm-poisson')!.exp.outputs.predict as number[], 1e-9, 'lgbm-poisson V1 after the failed loads');
  });
});
