import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, startInferd, waitReady } from '../helpers/inferd-process.js';

type Replicas = { current: number; desired: number; decisions: Array<{ from: number; to: number }> };

describe('replica autoscaling (Knative KPA style)', () => {
  it('adds worker replicas under concurrent load and removes them when idle', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'inferd-scale-'));
    writeFileSync(join(dir, 'config.yaml'), 'serving:\n  stableWindowSeconds: 1.5\n  panicWindowSeconds: 0.4\n  autoscaleTickSeconds: 0.1\n');
    writeFileSync(join(dir, 'models.yaml'), `apiVersion: serving.kserve.io/v1alpha1
kind: ServingRuntime
metadata:
  name: slow-worker
  annotations: {inferd.dev/module: "${join(REPO_ROOT, 'test/fixtures/custom/slow-model.mjs')}", inferd.dev/isolation: worker}
spec:
  supportedModelFormats: [{name: slow, autoSelect: true}]
  containers: [{name: kserve-container, args: ["--delay_ms=100"]}]
---
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata: {name: scaler}
spec: {predictor: {minReplicas: 1, maxReplicas: 3, scaleTarget: 1, containerConcurrency: 1, model: {modelFormat: {name: slow}}}}
`);
    const srv = await startInferd(['-f', join(dir, 'models.yaml'), '--config', join(dir, 'config.yaml')]);
    try {
      await waitReady(srv.http);
      const replicas = async () => ((await (await fetch(`${srv.http}/apis/inferd.dev/v1/namespaces/default/inferenceservices/scaler/stats`)).json()) as { items: Array<{ replicas: Replicas }> }).items[0]!.replicas;
      assert.equal((await replicas()).current, 1);
      let stop = false;
      let failures = 0;
      const body = JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 1], data: [1] }] });
      const clients = Array.from({ length: 6 }, async () => {
        while (!stop) {
          const res = await fetch(`${srv.http}/v2/models/scaler/infer`, { method: 'POST', body });
          await res.arrayBuffer();
          if (res.status !== 200 && res.status !== 429) failures++;
        }
      });
      let peak = 1;
      for (let i = 0; i < 100 && peak < 3; i++) {
        await new Promise((r) => setTimeout(r, 100));
        peak = Math.max(peak, (await replicas()).current);
      }
      stop = true;
      await Promise.all(clients);
      assert.equal(peak, 3, 'scaled up to maxReplicas');
      assert.equal(failures, 0);
      let now = await replicas();
      for (let i = 0; i < 100 && now.current > 1; i++) {
        await new Promise((r) => setTimeout(r, 100));
        now = await replicas();
      }
      assert.equal(now.current, 1, 'scaled back to minReplicas when idle');
      assert.ok(now.decisions.some((d) => d.to > d.from) && now.decisions.some((d) => d.to < d.from));
      const events = (await (await fetch(`${srv.http}/apis/inferd.dev/v1/namespaces/default/inferenceservices/scaler/events`)).json()) as { items: Array<{ reason: string }> };
      assert.ok(events.items.some((e) => e.reason === 'Scaled'));
    } finally {
      await srv.stop();
    }
  });
});
