import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, startInferd, waitReady, type InferdProcess } from '../helpers/inferd-process.js';
import { postJson } from '../helpers/fixtures.js';

const MB = 1024 * 1024;
const NAMES = ['m-a', 'm-bb', 'm-ccc', 'm-dddd', 'm-eeeee', 'm-ffffff'];

describe('multi-model serving under a memory budget (minReplicas 0)', () => {
  let srv: InferdProcess;
  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'inferd-mem-'));
    writeFileSync(join(dir, 'config.yaml'), `serving:\n  memoryBudgetBytes: ${25 * MB}\n  idleUnloadSeconds: 1.5\n  minResidencySeconds: 0\n`);
    const runtime = `apiVersion: serving.kserve.io/v1alpha1\nkind: ServingRuntime\nmetadata: {name: sized, annotations: {inferd.dev/module: "${join(REPO_ROOT, 'test/fixtures/custom/sized-model.mjs')}"}}\nspec:\n  supportedModelFormats: [{name: sized, autoSelect: true}]\n  containers: [{name: kserve-container, args: ["--memory_bytes=${10 * MB}"]}]\n`;
    const isvcs = NAMES.map((n) => `---\napiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata: {name: ${n}}\nspec: {predictor: {minReplicas: 0, model: {modelFormat: {name: sized}}}}\n`);
    writeFileSync(join(dir, 'models.yaml'), runtime + isvcs.join(''));
    srv = await startInferd(['-f', join(dir, 'models.yaml'), '--config', join(dir, 'config.yaml')]);
    await waitReady(srv.http);
  });
  after(async () => {
    await srv.stop();
  });

  const memory = async () => (await (await fetch(`${srv.http}/apis/inferd.dev/v1/memory`)).json()) as { usedBytes: number; budgetBytes: number; loaded: number; evictions: number; loads: number; idleUnloads: number; loadMs: { p99: number } | null };

  it('answers every model correctly while never holding more than the budget', async () => {
    for (let round = 0; round < 3; round++) {
      for (const name of NAMES) {
        const res = await postJson(`${srv.http}/v2/models/${name}/infer`, { inputs: [{ name: 'x', datatype: 'FP64', shape: [2], data: [1, 2] }] });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.deepEqual(res.body.outputs[0].data, [1 + name.length, 2 + name.length]);
        const m = await memory();
        assert.ok(m.usedBytes <= m.budgetBytes, `used ${m.usedBytes} > budget ${m.budgetBytes}`);
        assert.ok(m.loaded <= 2, `${m.loaded} loaded`);
      }
    }
    const m = await memory();
    assert.ok(m.evictions >= 10, `${m.evictions} evictions`);
    assert.ok(m.loadMs !== null && m.loadMs.p99 >= 0);
  });

  it('scales idle models to zero and brings one back on the next request', async () => {
    for (let i = 0; i < 100 && (await memory()).loaded > 0; i++) await new Promise((r) => setTimeout(r, 100));
    const idle = await memory();
    assert.equal(idle.loaded, 0);
    assert.ok(idle.idleUnloads >= 1);
    const isvc = (await (await fetch(`${srv.http}/apis/serving.kserve.io/v1beta1/namespaces/default/inferenceservices/m-a`)).json()) as any;
    assert.equal(isvc.status.modelStatus.states.targetModelState, 'Standby');
    assert.equal(isvc.status.conditions.find((c: { type: string }) => c.type === 'Ready').status, 'True');
    const res = await postJson(`${srv.http}/v2/models/m-a/infer`, { inputs: [{ name: 'x', datatype: 'FP64', shape: [1], data: [5] }] });
    assert.deepEqual(res.body.outputs[0].data, [8]);
    assert.equal((await memory()).loaded, 1);
  });
});
