import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, startInferd, waitReady, type InferdProcess } from '../helpers/inferd-process.js';
import { ONNX_FIXTURES, postJson } from '../helpers/fixtures.js';

const SLOW = join(REPO_ROOT, 'test/fixtures/custom/slow-model.mjs');

describe('serving engine: batching, deadlines, bounded queues', () => {
  let srv: InferdProcess;
  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'inferd-engine-'));
    writeFileSync(join(dir, 'config.yaml'), 'serving:\n  maxQueue: 100\n');
    writeFileSync(join(dir, 'models.yaml'), `
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata: {name: plain}
spec: {predictor: {model: {modelFormat: {name: onnx}, storageUri: "file://${join(ONNX_FIXTURES, 'mlp')}"}}}
---
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata: {name: batched}
spec:
  predictor:
    batcher: {maxBatchSize: 16, maxLatency: 20}
    model: {modelFormat: {name: onnx}, storageUri: "file://${join(ONNX_FIXTURES, 'mlp')}"}
---
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata: {name: cached, annotations: {inferd.dev/prediction-cache: "true"}}
spec: {predictor: {model: {modelFormat: {name: onnx}, storageUri: "file://${join(ONNX_FIXTURES, 'mlp')}"}}}
---
apiVersion: serving.kserve.io/v1alpha1
kind: ServingRuntime
metadata:
  name: slow
  annotations: {inferd.dev/module: "${SLOW}"}
spec:
  supportedModelFormats: [{name: slow, autoSelect: true}]
  containers: [{name: kserve-container, args: ["--delay_ms=300"]}]
---
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata: {name: slow}
spec: {predictor: {containerConcurrency: 1, model: {modelFormat: {name: slow}}}}
`);
    srv = await startInferd(['-f', join(dir, 'models.yaml'), '--config', join(dir, 'config.yaml')]);
    await waitReady(srv.http);
  });
  after(async () => {
    await srv.stop();
  });

  const row = (i: number) => ({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: [i * 0.37, -i * 0.11, i % 5, 1 - i * 0.05] }] });
  const slowCall = (headers: Record<string, string> = {}) => postJson(`${srv.http}/v2/models/slow/infer`, { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 1], data: [1] }] }, headers);

  it('batched and unbatched outputs are identical, and requests were really merged', async () => {
    const rows = Array.from({ length: 64 }, (_, i) => row(i));
    const plain = await Promise.all(rows.map((r) => postJson(`${srv.http}/v2/models/plain/infer`, r)));
    const batched = await Promise.all(rows.map((r) => postJson(`${srv.http}/v2/models/batched/infer`, r)));
    for (let i = 0; i < rows.length; i++) {
      assert.equal(batched[i]!.status, 200, JSON.stringify(batched[i]!.body));
      assert.deepEqual(batched[i]!.body.outputs, plain[i]!.body.outputs, `row ${i}`);
    }
    const stats = (await (await fetch(`${srv.http}/apis/inferd.dev/v1/namespaces/default/inferenceservices/batched/stats`)).json()) as { items: Array<{ batches: number; batchedRequests: number }> };
    assert.ok(stats.items[0]!.batches > 0, 'at least one merged batch');
    assert.ok(stats.items[0]!.batchedRequests >= 2 * stats.items[0]!.batches);
  });

  it('requests of different shapes are not merged but still answered', async () => {
    const two = { inputs: [{ name: 'input', datatype: 'FP32', shape: [2, 4], data: [1, 2, 3, 4, 5, 6, 7, 8] }] };
    const [a, b] = await Promise.all([postJson(`${srv.http}/v2/models/batched/infer`, two), postJson(`${srv.http}/v2/models/batched/infer`, row(3))]);
    assert.deepEqual(a.body.outputs[0].shape, [2, 3]);
    assert.deepEqual(b.body.outputs[0].shape, [1, 3]);
  });

  it('a request whose deadline passes while queued gets 504 and never reaches the model', async () => {
    const first = slowCall();
    const late = await slowCall({ 'inferd-timeout': '0.05' });
    assert.equal(late.status, 504);
    assert.match(late.body.error, /deadline/);
    assert.equal((await first).body.outputs[0].data[0], 1);
    const next = await slowCall();
    assert.equal(next.body.outputs[0].data[0], 2, 'the expired request was dropped, not run');
  });

  it('a full queue answers 429 with Retry-After at once', async () => {
    const started = Date.now();
    const results = await Promise.all(Array.from({ length: 16 }, () => fetch(`${srv.http}/v2/models/slow/infer`, { method: 'POST', body: JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 1], data: [1] }] }) })));
    const refused = results.filter((r) => r.status === 429);
    // containerConcurrency 1: one running, 10 waiting (Knative's 10 × containerConcurrency), the rest refused.
    assert.ok(refused.length >= 5, `${refused.length} refused`);
    assert.equal(refused[0]!.headers.get('retry-after'), '1');
    assert.match(((await refused[0]!.json()) as { error: string }).error, /queue .* is full/);
    assert.ok(results.filter((r) => r.status === 200).length >= 1);
    assert.ok(Date.now() - started < 60_000);
  });

  it('the prediction cache answers repeated inputs and starts empty for a new revision', async () => {
    const stats = async () => ((await (await fetch(`${srv.http}/apis/inferd.dev/v1/namespaces/default/inferenceservices/cached/stats`)).json()) as { items: Array<Record<string, number | string>> }).items;
    const a = await postJson(`${srv.http}/v2/models/cached/infer`, row(7));
    const b = await postJson(`${srv.http}/v2/models/cached/infer`, row(7));
    await postJson(`${srv.http}/v2/models/cached/infer`, row(8));
    assert.deepEqual(b.body.outputs, a.body.outputs);
    const [s1] = await stats();
    assert.deepEqual([s1!.cacheHits, s1!.cacheMisses, s1!.cacheEntries], [1, 2, 2]);
    const yaml = `apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata: {name: cached, annotations: {inferd.dev/prediction-cache: "true"}}\nspec: {predictor: {model: {modelFormat: {name: onnx}, storageUri: "file://${join(ONNX_FIXTURES, 'mlp-v2')}"}}}\n`;
    assert.equal((await fetch(`${srv.http}/apis/inferd.dev/v1/apply`, { method: 'POST', body: yaml })).status, 200);
    for (let i = 0; i < 200; i++) {
      const s = await stats();
      if (s.length === 1 && String(s[0]!.revision).endsWith('00002') && s[0]!.state === 'Loaded') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const c = await postJson(`${srv.http}/v2/models/cached/infer`, row(7));
    assert.notDeepEqual(c.body.outputs[0].data, a.body.outputs[0].data, 'the new revision computes afresh');
    const [s2] = await stats();
    assert.deepEqual([s2!.revision, s2!.cacheHits, s2!.cacheMisses], ['cached-predictor-00002', 0, 1]);
  });

  it('rejects a malformed Inferd-Timeout header', async () => {
    const res = await postJson(`${srv.http}/v2/models/plain/infer`, row(1), { 'inferd-timeout': 'soon' });
    assert.equal(res.status, 400);
    assert.match(res.body.error, /Inferd-Timeout/);
  });
});
