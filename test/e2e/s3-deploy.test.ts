import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startInferd, waitSettled, type InferdProcess } from '../helpers/inferd-process.js';
import { ONNX_FIXTURES, assertClose, expected, postJson } from '../helpers/fixtures.js';
import { S3RVER_KEY, startS3, type TestS3 } from '../storage/s3-test-server.js';

/**
 * A model uploaded to a real S3-compatible server (s3rver) deploys through `inferd serve` and
 * answers V2 predictions; a wrong sha256 is refused; a restart re-deploys from the cache.
 * Needs model-loader to pass `dataDir`, `env` and `integrityOf(isvc)` to resolveStorageUri.
 */
describe('s3:// deploy end to end', () => {
  const model = readFileSync(join(ONNX_FIXTURES, 'mlp/model.onnx'));
  const digest = createHash('sha256').update(model).digest('hex');
  // s3rver checks the key id only (not SigV4 signatures), so any secret works; this one must never show.
  const SECRET = 'e2e-secret-access-key-0123456789';
  let s3: TestS3;
  let srv: InferdProcess | undefined;
  const dataDir = mkdtempSync(join(tmpdir(), 'inferd-s3-e2e-'));
  const manifests = mkdtempSync(join(tmpdir(), 'inferd-s3-manifests-'));
  const isvc = (name: string, sha: string) =>
    [
      'apiVersion: serving.kserve.io/v1beta1',
      'kind: InferenceService',
      'metadata:',
      `  name: ${name}`,
      '  annotations:',
      `    inferd.dev/sha256: "${sha}"`,
      'spec:',
      '  predictor:',
      '    model:',
      '      modelFormat:',
      '        name: onnx',
      '      storageUri: s3://models/models/mlp',
      '',
    ].join('\n');

  const start = async () => {
    srv = await startInferd(['-f', manifests], {
      dataDir,
      env: {
        AWS_ENDPOINT_URL: s3.endpoint,
        AWS_DEFAULT_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: S3RVER_KEY.accessKeyId,
        AWS_SECRET_ACCESS_KEY: SECRET,
      },
    });
    return srv;
  };

  before(async () => {
    s3 = await startS3(['models']);
    await s3.put('models', 'models/mlp/model.onnx', model);
    writeFileSync(join(manifests, 'mlp.yaml'), isvc('s3-mlp', digest));
    writeFileSync(join(manifests, 'bad.yaml'), isvc('s3-bad', 'f'.repeat(64)));
  });
  after(async () => {
    if (srv) await srv.stop();
    await s3.close();
  });

  const predict = async (base: string) => {
    const e = expected('mlp');
    const res = await postJson(`${base}/v2/models/s3-mlp/infer`, { inputs: [{ name: 'input', datatype: 'FP32', shape: e.inputs.input!.shape, data: e.inputs.input!.data }] });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assertClose(res.body.outputs[0].data, e.outputs.probabilities!.data, 1e-5);
  };

  it('deploys from S3, predicts, and refuses a wrong sha256', async () => {
    const p = await start();
    const ok = await waitSettled(p.http, 's3-mlp', 'default', 60_000);
    const ready = ok.status.conditions.find((c: { type: string }) => c.type === 'PredictorReady');
    assert.equal(ready.status, 'True', JSON.stringify(ok.status));
    await predict(p.http);
    assert.ok(s3.objectGets().length >= 1, 'the model was downloaded');

    const bad = await waitSettled(p.http, 's3-bad', 'default', 60_000);
    assert.equal(bad.status.modelStatus.states.targetModelState, 'FailedToLoad');
    const message = String(bad.status.modelStatus.lastFailureInfo.message);
    assert.match(message, new RegExp(`sha256 mismatch: expected ${'f'.repeat(64)}, actual ${digest}`));
    assert.ok(!JSON.stringify(p.logs).includes(SECRET), 'the secret key is never logged');
  });

  it('after a restart, deploys again from the cache without downloading', async () => {
    await srv!.stop();
    srv = undefined;
    const gets = s3.objectGets().length;
    const requests = s3.requests.length;
    const p = await start();
    const ok = await waitSettled(p.http, 's3-mlp', 'default', 60_000);
    assert.equal(ok.status.conditions.find((c: { type: string }) => c.type === 'PredictorReady').status, 'True');
    await predict(p.http);
    assert.equal(s3.objectGets().length, gets, 'no object downloaded');
    // With the sha256 known, the good model needs no request at all; the bad one lists only.
    assert.ok(s3.requests.slice(requests).every((r) => !r.includes('/models/mlp/model.onnx')), s3.requests.slice(requests).join('\n'));
  });
});
