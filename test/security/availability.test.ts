import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { REPO_ROOT, startInferd, waitModelsReady, type InferdProcess } from '../helpers/inferd-process.js';
import { MANIFESTS } from '../helpers/fixtures.js';
import { blackHole } from '../helpers/black-hole.js';

const def = protoLoader.loadSync(join(REPO_ROOT, 'proto/grpc_predict_v2.proto'), { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
const { inference } = grpc.loadPackageDefinition(def) as any;

function serverReady(target: string): Promise<boolean> {
  const client = new inference.GRPCInferenceService(target, grpc.credentials.createInsecure());
  return new Promise((resolve, reject) => {
    client.ServerReady({}, (err: grpc.ServiceError | null, res: { ready: boolean }) => {
      client.close();
      if (err) reject(err);
      else resolve(res.ready);
    });
  });
}

/** The fixture ONNX models plus `stuck`, whose storage never answers. */
function manifests(port: number): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'inferd-avail-'));
  const stuck = join(dir, 'stuck.yaml');
  writeFileSync(stuck, `apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata: {name: stuck}
spec: {predictor: {model: {modelFormat: {name: onnx}, storageUri: "http://127.0.0.1:${port}/models/stuck/model.onnx"}}}
`);
  // A short grace period: stopping waits for loads until then, and this one never ends.
  writeFileSync(join(dir, 'inferd.yaml'), `shutdownGraceSeconds: 2\nstorage: {pvcs: {fixtures: ${JSON.stringify(join(MANIFESTS, '..'))}}}\n`);
  return ['-f', join(MANIFESTS, 'onnx-models.yaml'), '-f', stuck, '--config', join(dir, 'inferd.yaml'), '--no-watch'];
}

const BODY = JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }] });

describe("server readiness is not hostage to one tenant's model (issue 17 item 5)", () => {
  let hole: Awaited<ReturnType<typeof blackHole>>;
  before(async () => {
    hole = await blackHole();
  });
  after(() => hole.server.close());

  describe('default: the server is ready when it can serve', () => {
    let srv: InferdProcess;
    before(async () => {
      srv = await startInferd(manifests(hole.port));
    });
    after(async () => srv?.stop());

    it('answers 200 on /v2/health/ready and ServerReady while a model whose storage never answers is loading; that model alone is not ready', async () => {
      await waitModelsReady(srv.http, ['mlp'], 60_000);
      await hole.connected;
      const ready = await fetch(`${srv.http}/v2/health/ready`);
      assert.equal(ready.status, 200, 'server readiness does not wait for the stuck model');
      assert.deepEqual(await ready.json(), { ready: true });
      assert.equal(await serverReady(srv.grpc), true);

      const own = await fetch(`${srv.http}/v2/models/stuck/ready`);
      assert.equal(own.status, 503, "the stuck model's own readiness says so");
      assert.deepEqual(await own.json(), { name: 'stuck', ready: false });
      const v1 = await fetch(`${srv.http}/v1/models/stuck`);
      assert.equal(v1.status, 503);
      assert.equal(((await v1.json()) as { ready: boolean }).ready, false);
      const infer = await fetch(`${srv.http}/v2/models/stuck/infer`, { method: 'POST', body: BODY });
      assert.equal(infer.status, 503);
      assert.ok(infer.headers.get('retry-after'), 'a request to the loading model is told to retry');

      const other = await fetch(`${srv.http}/v2/models/mlp/infer`, { method: 'POST', body: BODY });
      assert.equal(other.status, 200, 'the other models serve');
    });
  });

  describe('--strict-readiness: every model must be ready (Triton-style)', () => {
    let srv: InferdProcess;
    before(async () => {
      srv = await startInferd([...manifests(hole.port), '--strict-readiness']);
    });
    after(async () => srv?.stop());

    it('answers 503 while the stuck model is not ready, and 200 once it is gone', async () => {
      await waitModelsReady(srv.http, ['mlp'], 60_000);
      await hole.connected;
      assert.equal((await fetch(`${srv.http}/v2/models/stuck/ready`)).status, 503);
      assert.equal((await fetch(`${srv.http}/v2/health/ready`)).status, 503);
      assert.equal(await serverReady(srv.grpc), false);
      assert.equal((await fetch(`${srv.http}/v2/health/live`)).status, 200, 'liveness is not readiness');

      const del = await fetch(`${srv.http}/apis/serving.kserve.io/v1beta1/namespaces/default/inferenceservices/stuck`, { method: 'DELETE' });
      assert.equal(del.status, 200);
      let status = 0;
      for (let i = 0; i < 400 && status !== 200; i++) {
        status = (await fetch(`${srv.http}/v2/health/ready`)).status;
        if (status !== 200) await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(status, 200, 'ready once every remaining model is');
    });
  });
});
