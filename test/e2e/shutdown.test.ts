import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, startInferd, waitReady } from '../helpers/inferd-process.js';

describe('graceful shutdown on SIGTERM', () => {
  it('finishes accepted requests, turns readiness false, and exits 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'inferd-term-'));
    writeFileSync(join(dir, 'models.yaml'), `apiVersion: serving.kserve.io/v1alpha1
kind: ServingRuntime
metadata: {name: slow, annotations: {inferd.dev/module: "${join(REPO_ROOT, 'test/fixtures/custom/slow-model.mjs')}"}}
spec:
  supportedModelFormats: [{name: slow, autoSelect: true}]
  containers: [{name: kserve-container, args: ["--delay_ms=400"]}]
---
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata: {name: slow}
spec: {predictor: {model: {modelFormat: {name: slow}}}}
`);
    const srv = await startInferd(['-f', join(dir, 'models.yaml')]);
    await waitReady(srv.http);
    const body = JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 1], data: [1] }] });
    const inflight = Array.from({ length: 5 }, () => fetch(`${srv.http}/v2/models/slow/infer`, { method: 'POST', body }).then((r) => r.status));
    await new Promise((r) => setTimeout(r, 100));
    const exited = srv.stop();
    await new Promise((r) => setTimeout(r, 50));
    const ready = await fetch(`${srv.http}/v2/health/ready`).then((r) => r.status, () => 'refused');
    assert.notEqual(ready, 200, 'not ready once SIGTERM arrived');
    assert.deepEqual(await Promise.all(inflight), [200, 200, 200, 200, 200], 'accepted requests complete');
    assert.equal(await exited, 0);
  });
});
