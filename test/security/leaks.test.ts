import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { REPO_ROOT, startInferd, type InferdProcess } from '../helpers/inferd-process.js';
import { SLOW_JS_RUNTIME } from '../helpers/fixtures.js';
import { adminKeyOf, createKey } from '../helpers/keys.js';

/**
 * Issue 17.7, nothing leaks across tenants or into answers, against a real `inferd serve`
 * with auth on: /metrics needs the `metrics` permission (a scrape key) unless the operator
 * opens it; refused requests are never counted under the model name they asked for;
 * secret-looking env values are shown only to callers who could write them; error
 * messages quote client values as short excerpts only.
 */
const SECRET = 'hunter2-correct-horse-battery-staple';
const TOKEN_VALUE = 'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8';
const ISVC = '/apis/serving.kserve.io/v1beta1';
const SR = '/apis/serving.kserve.io/v1alpha1';
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const { inference } = grpc.loadPackageDefinition(protoLoader.loadSync(join(REPO_ROOT, 'proto/grpc_predict_v2.proto'), { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true })) as any;
const BODY = JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 1], data: [1] }] });

function models(): string {
  const dir = mkdtempSync(join(tmpdir(), 'inferd-leaks-'));
  const file = join(dir, 'models.yaml');
  writeFileSync(file, `${SLOW_JS_RUNTIME}---
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata: {name: echo, namespace: team-a}
spec:
  predictor:
    model:
      modelFormat: {name: slow}
      env:
        - {name: DB_PASSWORD, value: "${SECRET}"}
        - {name: UPSTREAM, value: "${TOKEN_VALUE}"}
        - {name: LOG_LEVEL, value: debug}
---
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata: {name: confidential-model, namespace: team-b}
spec: {predictor: {model: {modelFormat: {name: slow}}}}
---
apiVersion: serving.kserve.io/v1alpha1
kind: ServingRuntime
metadata: {name: plain, namespace: team-a}
spec:
  supportedModelFormats: [{name: plain-format}]
  containers: [{name: kserve-container, env: [{name: HF_TOKEN, value: "${SECRET}"}, {name: OMP_NUM_THREADS, value: "2"}]}]
`);
  return file;
}

interface Answer {
  status: number;
  text: string;
}

describe('nothing leaks across tenants or into answers (issue 17.7)', () => {
  let srv: InferdProcess;
  let admin: string;
  const key: Record<string, string> = {};
  const call = async (method: string, path: string, token?: string, body?: string, headers: Record<string, string> = {}): Promise<Answer> => {
    const res = await fetch(`${srv.http}${path}`, {
      method,
      ...(body !== undefined ? { body } : {}),
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    });
    return { status: res.status, text: await res.text() };
  };

  before(async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'inferd-leaks-data-'));
    srv = await startInferd(['-f', models(), '--auth', 'keys'], { dataDir });
    admin = adminKeyOf(dataDir);
    for (const role of ['viewer', 'predictor', 'deployer']) key[role] = await createKey(srv.http, admin, role, ['team-a']);
    key.metrics = await createKey(srv.http, admin, 'metrics', ['default']);
    for (const [ns, name] of [['team-a', 'echo'], ['team-b', 'confidential-model']] as const) {
      for (let i = 0; i < 400; i++) {
        if ((await call('GET', `/v2/models/${name}/ready`, admin, undefined, { 'inferd-namespace': ns })).status === 200) break;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  });
  after(async () => srv?.stop());

  it('/metrics needs the metrics permission: anonymous and tenant keys are refused, a scrape key reads it and nothing else', async () => {
    assert.equal((await call('GET', '/metrics')).status, 401);
    assert.equal((await call('GET', '/metrics', key.deployer)).status, 403, 'a namespace-scoped deployer does not see every tenant');
    const scraped = await call('GET', '/metrics', key.metrics);
    assert.equal(scraped.status, 200, scraped.text);
    assert.match(scraped.text, /inferd_requests_total|inferd_model_/);
    assert.equal((await call('GET', '/metrics', admin)).status, 200);
    // The scrape key can do nothing else.
    assert.equal((await call('GET', '/v2/models/echo', key.metrics, undefined, { 'inferd-namespace': 'team-a' })).status, 403);
    assert.equal((await call('POST', '/v2/models/echo/infer', key.metrics, BODY, { 'inferd-namespace': 'team-a' })).status, 403);
    assert.equal((await call('GET', `${ISVC}/inferenceservices`, key.metrics)).status, 403);
    assert.equal((await call('GET', '/v2/health/ready')).status, 200, 'health probes stay open (security.publicHealth)');
  });

  it('counts refused requests under _unknown, never under the model name they asked for', async () => {
    for (let i = 0; i < 3; i++) {
      assert.equal((await call('POST', '/v2/models/confidential-model/infer', undefined, BODY, { 'inferd-namespace': 'team-b' })).status, 401);
      assert.equal((await call('POST', '/v2/models/confidential-model/infer', key.predictor, BODY, { 'inferd-namespace': 'team-a' })).status, 404);
      assert.equal((await call('POST', '/v2/models/echo/infer', key.viewer, BODY, { 'inferd-namespace': 'team-a' })).status, 403);
    }
    const client = new inference.GRPCInferenceService(srv.grpc, grpc.credentials.createInsecure());
    const md = new grpc.Metadata();
    md.set('inferd-namespace', 'team-b');
    const code = await new Promise<number>((resolve) =>
      client.ModelInfer({ model_name: 'confidential-model', inputs: [{ name: 'x', datatype: 'FP32', shape: ['1', '1'], contents: { fp32_contents: [1] } }] }, md, (err: grpc.ServiceError | null) => resolve(err?.code ?? 0)),
    );
    client.close();
    assert.equal(code, grpc.status.UNAUTHENTICATED);
    const text = (await call('GET', '/metrics', key.metrics)).text;
    const series = text.split('\n').filter((l) => l.startsWith('inferd_requests_total{'));
    assert.ok(series.some((l) => l.includes('protocol="grpc"') && l.includes('code="16"') && l.includes('model="_unknown"')), series.join('\n'));
    for (const code of ['401', '403', '404']) {
      assert.ok(!series.some((l) => l.includes(`code="${code}"`) && !l.includes('model="_unknown"')), `a ${code} counted under a model name:\n${series.join('\n')}`);
      assert.ok(series.some((l) => l.includes(`code="${code}"`) && l.includes('model="_unknown"')), `${code}s are still counted`);
    }
    assert.ok(!/confidential-model.*code="(40[134]|16)"/.test(text), text);
  });

  it('shows secret-looking env values only to callers who can deploy in the namespace', async () => {
    const envOf = (text: string) => JSON.stringify(JSON.parse(text));
    for (const role of ['viewer', 'predictor']) {
      for (const path of [`${ISVC}/namespaces/team-a/inferenceservices/echo`, `${ISVC}/namespaces/team-a/inferenceservices`, `${ISVC}/inferenceservices`, `${SR}/namespaces/team-a/servingruntimes`, `${SR}/servingruntimes`]) {
        const r = await call('GET', path, key[role]);
        assert.equal(r.status, 200, `${role} ${path}: ${r.text}`);
        const body = envOf(r.text);
        assert.ok(!body.includes(SECRET) && !body.includes(TOKEN_VALUE), `${role} sees a secret at ${path}`);
        assert.match(body, /<redacted>/);
      }
      const one = await call('GET', `${ISVC}/namespaces/team-a/inferenceservices/echo`, key[role]);
      assert.match(one.text, /"name":"LOG_LEVEL","value":"debug"/, 'values that are not secret stay readable');
    }
    for (const token of [key.deployer!, admin]) {
      const isvc = await call('GET', `${ISVC}/namespaces/team-a/inferenceservices/echo`, token);
      assert.ok(isvc.text.includes(SECRET) && isvc.text.includes(TOKEN_VALUE), isvc.text);
      const sr = await call('GET', `${SR}/namespaces/team-a/servingruntimes`, token);
      assert.ok(sr.text.includes(SECRET), sr.text);
    }
  });

  it('quotes client values in errors as short excerpts only', async () => {
    const long = 'Z'.repeat(5000);
    const h = { 'inferd-namespace': 'team-a' };
    const answers: Answer[] = [
      await call('POST', '/v2/models/echo/infer', key.predictor, JSON.stringify({ inputs: [{ name: 'x', datatype: long, shape: [1, 1], data: [1] }] }), h),
      await call('POST', '/v2/models/echo/infer', key.predictor, JSON.stringify({ inputs: [{ name: long, datatype: 'FP32', shape: [1, 1], data: [1] }] }), h),
      await call('POST', `/v2/models/${long}/infer`, key.predictor, BODY, h),
      await call('POST', '/v2/models/echo/infer', key.predictor, BODY, { ...h, 'inferd-timeout': long }),
      await call('POST', '/v2/models/echo/infer', key.predictor, BODY, { ...h, 'inferd-revision': long }),
      await call('GET', `/nothing/${long}`, key.predictor),
    ];
    for (const a of answers) {
      assert.ok(a.status >= 400 && a.status < 500, a.text.slice(0, 200));
      assert.ok(!a.text.includes('Z'.repeat(100)), `echoed ${a.text.length} characters: ${a.text.slice(0, 200)}…`);
      assert.ok(a.text.length < 600, `an error of ${a.text.length} characters`);
    }
  });
});

describe('observability.metrics.public: true keeps /metrics open for anonymous scrapes', () => {
  let srv: InferdProcess;
  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'inferd-leaks-public-'));
    writeFileSync(join(dir, 'config.yaml'), 'observability: {metrics: {public: true}}\n');
    srv = await startInferd(['--config', join(dir, 'config.yaml'), '--auth', 'keys'], { dataDir: join(dir, 'data') });
  });
  after(async () => srv?.stop());

  it('answers /metrics without credentials', async () => {
    const r = await fetch(`${srv.http}/metrics`);
    assert.equal(r.status, 200);
    assert.match(await r.text(), /process_|inferd_/);
  });
});
