import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingHttpHeaders } from 'node:http';
import { createServer as createNetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { CLI, startInferd, type InferdProcess } from '../helpers/inferd-process.js';
import { ONNX_FIXTURES } from '../helpers/fixtures.js';
import { S3RVER_KEY, startS3, type TestS3 } from '../storage/s3-test-server.js';
import { adminKeyOf, createKey } from '../helpers/keys.js';

const run = promisify(execFile);
const SECRET_BYTES = 'TOPSECRET-file-bytes-7f3a';
const BODY = JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: [5.1, 3.5, 1.4, 0.2] }] });

/**
 * A deployer of team-a, applying through the API of a real `inferd serve` with auth on, tries
 * to make storage and the payload logger reach outside their roots or carry the operator's
 * S3 keys to its own endpoint; a storage server that never answers fails the model in time.
 */
describe('storage and payload-logger attacks by a namespace deployer', () => {
  const work = mkdtempSync(join(tmpdir(), 'inferd-storage-attacks-'));
  const dataDir = join(work, 'data');
  const fileRoot = join(work, 'models');
  const pvcRoot = join(work, 'pvc');
  const logRoot = join(work, 'payloads');
  const manifests = join(work, 'manifests');
  let srv: InferdProcess;
  let s3: TestS3;
  let admin: string;
  let deployer: string;
  const captured: IncomingHttpHeaders[] = [];
  const capture = createHttpServer((req, res) => {
    captured.push(req.headers);
    res.writeHead(404, { 'content-type': 'application/xml' }).end('<Error><Code>NoSuchBucket</Code></Error>');
  });
  const hanging: Socket[] = [];
  const silent = createNetServer((socket) => hanging.push(socket));

  const req = async (method: string, path: string, token: string, body?: string) => {
    const res = await fetch(`${srv.http}${path}`, { method, ...(body !== undefined ? { body } : {}), headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) } });
    return { status: res.status, text: await res.text() };
  };
  const apply = (yaml: string) => req('POST', '/apis/inferd.dev/v1/apply', deployer, yaml);
  const isvc = (name: string, model: string) => `apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata: {name: ${name}, namespace: team-a}\nspec:\n  predictor:\n${model}`;
  /** The InferenceService once its predictor is Ready or failed, as JSON text. */
  const settled = async (name: string, timeoutMs = 60_000): Promise<{ ready: boolean; text: string }> => {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      const r = await req('GET', `/apis/serving.kserve.io/v1beta1/namespaces/team-a/inferenceservices/${name}`, admin);
      if (r.status === 200) {
        const cond = (JSON.parse(r.text) as { status?: { conditions?: Array<{ type: string; status: string }> } }).status?.conditions?.find((c) => c.type === 'PredictorReady');
        if (cond && cond.status !== 'Unknown') return { ready: cond.status === 'True', text: r.text };
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`InferenceService ${name} did not settle within ${timeoutMs} ms`);
  };

  before(async () => {
    for (const d of [dataDir, fileRoot, pvcRoot, logRoot, manifests, join(pvcRoot, 'escape'), join(fileRoot, 'xgb'), join(manifests, 'models/mlp')]) mkdirSync(d, { recursive: true });
    writeFileSync(join(work, 'outside.onnx'), `${SECRET_BYTES}\n`);
    symlinkSync(join(work, 'outside.onnx'), join(pvcRoot, 'escape/model.onnx'));
    writeFileSync(join(fileRoot, 'xgb/model.json'), `{"a": ${SECRET_BYTES}}`);
    copyFileSync(join(ONNX_FIXTURES, 'mlp/model.onnx'), join(fileRoot, 'model.onnx'));
    // The operator's own manifest keeps its relative file:// path under its directory.
    copyFileSync(join(ONNX_FIXTURES, 'mlp/model.onnx'), join(manifests, 'models/mlp/model.onnx'));
    writeFileSync(join(manifests, 'op.yaml'), 'apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata: {name: operator-mlp, namespace: team-a}\nspec: {predictor: {model: {modelFormat: {name: onnx}, storageUri: "file://models/mlp"}}}\n');
    await new Promise<void>((r) => capture.listen(0, '127.0.0.1', r));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    s3 = await startS3(['models']);
    await s3.put('models', 'mlp/model.onnx', readFileSync(join(ONNX_FIXTURES, 'mlp/model.onnx')));
    const config = join(work, 'config.yaml');
    writeFileSync(config, [
      'storage:',
      `  fileRoots: ["${fileRoot}"]`,
      `  pvcs: {vol: "${pvcRoot}"}`,
      '  timeouts: {connectSeconds: 2, idleSeconds: 2, totalSeconds: 4}',
      'observability:',
      `  payloadLogger: {fileRoot: "${logRoot}"}`,
      '',
    ].join('\n'));
    srv = await startInferd(['-f', manifests, '--auth', 'keys', '--config', config], {
      dataDir,
      env: { AWS_ENDPOINT_URL: s3.endpoint, AWS_DEFAULT_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: S3RVER_KEY.accessKeyId, AWS_SECRET_ACCESS_KEY: 'operator-secret-0123456789' },
    });
    admin = adminKeyOf(dataDir);
    deployer = await createKey(srv.http, admin, 'deployer', ['team-a']);
  });

  after(async () => {
    await srv?.stop();
    await s3?.close();
    capture.close();
    for (const s of hanging) s.destroy();
    silent.close();
  });

  it("keeps the operator's -f manifest with a relative file:// path and the tenant's model under storage.fileRoots working", async () => {
    assert.equal((await settled('operator-mlp')).ready, true);
    assert.equal((await apply(isvc('allowed', `    model: {modelFormat: {name: onnx}, storageUri: "file://${fileRoot}/model.onnx"}\n`))).status, 200);
    assert.equal((await settled('allowed')).ready, true);
  });

  it('refuses file:// outside storage.fileRoots (file:///etc)', async () => {
    assert.equal((await apply(isvc('etc', '    model: {modelFormat: {name: onnx}, storageUri: "file:///etc"}\n'))).status, 200);
    const s = await settled('etc');
    assert.equal(s.ready, false);
    assert.match(s.text, /storage\.fileRoots/);
  });

  it('refuses a pvc:// model directory holding a symlink that leaves the root, without quoting the target', async () => {
    assert.equal((await apply(isvc('pvc-escape', '    model: {modelFormat: {name: onnx}, storageUri: "pvc://vol/escape"}\n'))).status, 200);
    const s = await settled('pvc-escape');
    assert.equal(s.ready, false);
    assert.match(s.text, /leaves the PVC's root/);
    assert.ok(!s.text.includes(SECRET_BYTES));
  });

  it('never quotes model file bytes in a load error', async () => {
    assert.equal((await apply(isvc('bad-json', `    model: {modelFormat: {name: xgboost}, storageUri: "file://${fileRoot}/xgb"}\n`))).status, 200);
    const s = await settled('bad-json');
    assert.equal(s.ready, false);
    assert.match(s.text, /not valid JSON/);
    assert.ok(!s.text.includes('TOPSECRET'), s.text);
  });

  it('never lets a payload logger write into the data dir: the audit log still verifies', async () => {
    const spec = `    logger: {mode: all, url: "file://${join(dataDir, 'audit.log')}"}\n    model: {modelFormat: {name: onnx}, storageUri: "file://${fileRoot}/model.onnx"}\n`;
    const r = await apply(isvc('logged', spec));
    if (r.status !== 200) assert.match(r.text, /logger/);
    else {
      assert.equal((await settled('logged')).ready, true);
      for (let i = 0; i < 3; i++) {
        const res = await fetch(`${srv.http}/v2/models/logged/infer`, { method: 'POST', body: BODY, headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json', 'inferd-namespace': 'team-a' } });
        assert.equal(res.status, 200, await res.text());
      }
      // Sent after the inferences: an event appended by them would be on disk before this apply's entry.
      assert.equal((await apply(isvc('marker', `    model: {modelFormat: {name: onnx}, storageUri: "file://${fileRoot}/model.onnx"}\n`))).status, 200);
      await settled('marker');
    }
    assert.ok(!readFileSync(join(dataDir, 'audit.log'), 'utf8').includes('org.kubeflow.serving'));
    const { stdout } = await run(process.execPath, [CLI, 'audit', 'verify', '--data-dir', dataDir]);
    assert.match(stdout, /ok|verified/i);
  });

  it("sends no operator S3 key to a tenant's AWS_ENDPOINT_URL", async () => {
    const { port } = capture.address() as { port: number };
    const env = `      env: [{name: AWS_ENDPOINT_URL, value: "http://127.0.0.1:${port}"}]\n`;
    assert.equal((await apply(isvc('s3-steal', `    model:\n      modelFormat: {name: onnx}\n      storageUri: s3://models/mlp\n${env}`))).status, 200);
    assert.equal((await settled('s3-steal')).ready, false);
    assert.ok(captured.length > 0, 'the tenant endpoint was asked');
    for (const h of captured) {
      assert.ok(!JSON.stringify(h).includes(S3RVER_KEY.accessKeyId), 'operator key id sent to the tenant endpoint');
      assert.equal(h.authorization, undefined);
    }
    // The operator's endpoint still gets the operator's keys.
    assert.equal((await apply(isvc('s3-ok', '    model: {modelFormat: {name: onnx}, storageUri: s3://models/mlp}\n'))).status, 200);
    assert.equal((await settled('s3-ok')).ready, true);
  });

  it('fails a model whose S3 endpoint accepts TCP and never answers within storage.timeouts.totalSeconds', async () => {
    const { port } = silent.address() as { port: number };
    const env = `      env: [{name: AWS_ENDPOINT_URL, value: "http://127.0.0.1:${port}"}]\n`;
    assert.equal((await apply(isvc('s3-hang', `    model:\n      modelFormat: {name: onnx}\n      storageUri: s3://models/hang\n${env}`))).status, 200);
    // Bounded by the configured 4 s deadline; the old code waited minutes (SDK 120 s request timeout, retried).
    const s = await settled('s3-hang', 60_000);
    assert.equal(s.ready, false);
    assert.match(s.text, /timed out after 4 s/);
  });
});
