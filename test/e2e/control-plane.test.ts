import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CLI, startInferd, type InferdProcess } from '../helpers/inferd-process.js';
import { ONNX_FIXTURES } from '../helpers/fixtures.js';

const run = promisify(execFile);
const ROW = { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }] };

function isvcYaml(name: string, storage: string, extra = ''): string {
  return `apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata:
  name: ${name}
spec:
  predictor:${extra}
    model:
      modelFormat: {name: onnx}
      storageUri: file://${storage}
`;
}

describe('control plane: apply, revisions, canary, rollback, persistence', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'inferd-cp-'));
  const work = mkdtempSync(join(tmpdir(), 'inferd-cp-work-'));
  let srv: InferdProcess;
  const cli = async (...args: string[]) => (await run(process.execPath, [CLI, ...args, '--server', srv.http])).stdout;
  const apply = async (yaml: string) => {
    const file = join(work, `m-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(file, yaml);
    return cli('apply', '-f', file);
  };
  const isvc = async (name: string) => (await (await fetch(`${srv.http}/apis/serving.kserve.io/v1beta1/namespaces/default/inferenceservices/${name}`)).json()) as any;
  const until = async (name: string, pred: (i: any) => boolean, what: string) => {
    for (let i = 0; i < 400; i++) {
      const got = await isvc(name);
      if (pred(got)) return got;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`timed out waiting for ${what}: ${JSON.stringify((await isvc(name)).status)}`);
  };
  const traffic = (i: any) => i.status?.components?.predictor?.traffic ?? [];
  const predict = (name: string, headers: Record<string, string> = {}) =>
    fetch(`${srv.http}/v2/models/${name}/infer`, { method: 'POST', body: JSON.stringify(ROW), headers: { 'content-type': 'application/json', ...headers } });

  before(async () => {
    srv = await startInferd([], { dataDir });
  });
  after(async () => {
    await srv.stop();
  });

  it('applies, gets and describes an InferenceService', async () => {
    assert.match(await apply(isvcYaml('iris', join(ONNX_FIXTURES, 'mlp'))), /inferenceservice\/iris created/);
    await until('iris', (i) => traffic(i).length === 1, 'first revision to serve');
    const table = await cli('get', 'isvc');
    assert.match(table, /default\s+iris\s+True\s+Loaded\s+iris-predictor-00001/);
    assert.match(await apply(isvcYaml('iris', join(ONNX_FIXTURES, 'mlp'))), /iris unchanged/);
    const d = await cli('describe', 'isvc', 'iris');
    assert.match(d, /iris-predictor-00001\s+100%/);
    assert.match(d, /RevisionCreated/);
    const res = await predict('iris');
    assert.equal(res.headers.get('inferd-revision'), 'iris-predictor-00001');
  });

  it('an update creates revision 2 and a 20% canary splits traffic within ±5%, with sticky users', async () => {
    await apply(isvcYaml('iris', join(ONNX_FIXTURES, 'mlp-v2'), '\n    canaryTrafficPercent: 20'));
    const got = await until('iris', (i) => traffic(i).length === 2, 'canary split');
    assert.deepEqual(traffic(got).map((t: any) => [t.revisionName, t.percent, t.tag]), [['iris-predictor-00002', 20, 'latest'], ['iris-predictor-00001', 80, 'prev']]);
    assert.equal(got.metadata.generation, 2);
    const counts: Record<string, number> = {};
    const batch = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const res = await predict('iris');
        assert.equal(res.status, 200);
        await res.arrayBuffer();
        const rev = res.headers.get('inferd-revision')!;
        counts[rev] = (counts[rev] ?? 0) + 1;
      }
    };
    await Promise.all(Array.from({ length: 10 }, () => batch(100)));
    const share = (counts['iris-predictor-00002'] ?? 0) / 1000;
    assert.ok(share >= 0.15 && share <= 0.25, `canary share ${share}`);
    for (const user of ['alice', 'bob', 'carol']) {
      const seen = new Set<string>();
      for (let i = 0; i < 15; i++) seen.add((await predict('iris', { 'inferd-sticky': user })).headers.get('inferd-revision')!);
      assert.equal(seen.size, 1, `${user} stays on one variant`);
    }
    const users = new Set<string>();
    for (let i = 0; i < 60; i++) users.add((await predict('iris', { cookie: `inferd-sticky=u${i}` })).headers.get('inferd-revision')!);
    assert.equal(users.size, 2, 'different users reach both variants');
    assert.equal((await predict('iris', { 'inferd-revision': 'prev' })).headers.get('inferd-revision'), 'iris-predictor-00001');
    assert.equal((await predict('iris', { 'inferd-revision': 'latest' })).headers.get('inferd-revision'), 'iris-predictor-00002');
    const v1 = await fetch(`${srv.http}/v2/models/iris/versions/1/infer`, { method: 'POST', body: JSON.stringify(ROW) });
    assert.equal(((await v1.json()) as { model_version: string }).model_version, '1');
  });

  it('promotes, then rolls back to the previous revision', async () => {
    assert.match(await cli('rollout', 'promote', 'isvc', 'iris'), /canaryTrafficPercent: \(unset/);
    let got = await until('iris', (i) => traffic(i).length === 1 && traffic(i)[0].revisionName === 'iris-predictor-00002', 'promotion');
    assert.equal(got.status.components.predictor.latestRolledoutRevision, 'iris-predictor-00002');
    assert.equal(got.status.components.predictor.previousRolledoutRevision, 'iris-predictor-00001');
    await cli('rollout', 'rollback', 'isvc', 'iris');
    got = await until('iris', (i) => traffic(i).some((t: any) => t.revisionName === 'iris-predictor-00001' && t.percent === 100), 'rollback');
    assert.equal(got.spec.predictor.canaryTrafficPercent, 0);
    assert.match(await cli('rollout', 'status', 'isvc', 'iris'), /iris-predictor-00001\s+100%/);
  });

  it('a corrupt new model never takes traffic: zero failed requests, FailedToLoad with the reason', async () => {
    const bad = join(work, 'corrupt');
    mkdirSync(bad);
    writeFileSync(join(bad, 'model.onnx'), Buffer.from('not a model at all'));
    let failures = 0;
    let total = 0;
    let stop = false;
    const loaders = Array.from({ length: 4 }, async () => {
      while (!stop) {
        const res = await predict('iris');
        await res.arrayBuffer();
        total++;
        if (res.status !== 200) failures++;
      }
    });
    await apply(isvcYaml('iris', bad));
    const got = await until('iris', (i) => i.status.modelStatus.states.targetModelState === 'FailedToLoad', 'failed load');
    await new Promise((r) => setTimeout(r, 200));
    stop = true;
    await Promise.all(loaders);
    assert.equal(failures, 0, `${failures} of ${total} requests failed during the bad rollout`);
    assert.ok(total > 20);
    assert.equal(got.status.modelStatus.lastFailureInfo.reason, 'ModelLoadFailed');
    assert.equal(got.status.modelStatus.transitionStatus, 'BlockedByFailedLoad');
    assert.deepEqual(traffic(got).map((t: any) => [t.revisionName, t.percent]), [['iris-predictor-00001', 100]]);
    const revs = (await (await fetch(`${srv.http}/apis/inferd.dev/v1/namespaces/default/inferenceservices/iris/revisions`)).json()) as any;
    assert.deepEqual(revs.items.map((r: any) => r.outcome), ['Ready', 'Ready', 'Failed']);
  });

  it('splits traffic between spec.canary[] entries (KServe Standard style)', async () => {
    await apply(`apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata: {name: ab}
spec:
  predictor:
    model: {modelFormat: {name: onnx}, storageUri: "file://${join(ONNX_FIXTURES, 'mlp')}"}
  canary:
    - trafficPercent: 30
      predictor:
        name: challenger
        model: {modelFormat: {name: onnx}, storageUri: "file://${join(ONNX_FIXTURES, 'mlp-v2')}"}
`);
    const got = await until('ab', (i) => traffic(i).length === 2, 'canary entry ready');
    assert.deepEqual(got.status.canaryStatuses.map((c: any) => [c.name, c.ready, c.trafficPercent]), [['challenger', true, 30]]);
    assert.equal((await predict('ab', { 'inferd-revision': 'challenger' })).headers.get('inferd-revision'), 'ab-challenger-predictor-00002');
  });

  it('refuses bad changes with clear errors and applies nothing of a bad batch', async () => {
    const post = (yaml: string) => fetch(`${srv.http}/apis/inferd.dev/v1/apply`, { method: 'POST', body: yaml });
    const err = async (res: Response) => ({ status: res.status, error: ((await res.json()) as { error: string }).error });
    const current = await isvc('iris');
    const stale = await err(await post(isvcYaml('iris', join(ONNX_FIXTURES, 'mlp')).replace('name: iris', `name: iris\n  resourceVersion: "1"`)));
    assert.equal(stale.status, 409);
    assert.match(stale.error, /resourceVersion 1 is stale, current is \d+/);
    const fresh = await post(isvcYaml('iris', join(ONNX_FIXTURES, 'mlp')).replace('name: iris', `name: iris\n  resourceVersion: "${current.metadata.resourceVersion}"`));
    assert.equal(fresh.status, 200);
    const immutable = await err(await post(isvcYaml('iris', join(ONNX_FIXTURES, 'mlp')).replace('name: iris', 'name: iris\n  annotations: {serving.kserve.io/deploymentMode: Standard}')));
    assert.equal(immutable.status, 400);
    assert.match(immutable.error, /deploymentMode is immutable/);
    const twice = await err(await post(`${isvcYaml('dup', join(ONNX_FIXTURES, 'mlp'))}---\n${isvcYaml('dup', join(ONNX_FIXTURES, 'mlp'))}`));
    assert.equal(twice.status, 409);
    const created = await err(await fetch(`${srv.http}/apis/serving.kserve.io/v1beta1/namespaces/default/inferenceservices`, { method: 'POST', body: isvcYaml('iris', join(ONNX_FIXTURES, 'mlp')) }));
    assert.equal(created.status, 409);
    assert.match(created.error, /already exists/);
    const over = await err(await post(isvcYaml('over', join(ONNX_FIXTURES, 'mlp'), '\n    canaryTrafficPercent: 150')));
    assert.equal(over.status, 400);
    assert.match(over.error, /canaryTrafficPercent/);
    const sum = await err(await post(`${isvcYaml('sum', join(ONNX_FIXTURES, 'mlp'))}  canary:\n    - {trafficPercent: 60, predictor: {name: a}}\n    - {trafficPercent: 60, predictor: {name: b}}\n`));
    assert.equal(sum.status, 400);
    assert.match(sum.error, /sum to 120, more than 100/);
    const kind = await err(await post('apiVersion: serving.kserve.io/v1beta1\nkind: Gadget\nmetadata: {name: g}\n'));
    assert.match(kind.error, /unknown kind "Gadget"/);
    const halfBad = await err(await post(`${isvcYaml('half', join(ONNX_FIXTURES, 'mlp'))}---\napiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata: {name: bad}\nspec: {predictor: {model: {modelFormat: {name: onnx}, colour: red}}}\n`));
    assert.equal(halfBad.status, 400);
    assert.match(halfBad.error, /document 2 .*colour/);
    assert.equal((await fetch(`${srv.http}/apis/serving.kserve.io/v1beta1/namespaces/default/inferenceservices/half`)).status, 404);
  });

  it('keeps every resource, revision and the traffic state across a restart', async () => {
    // Revision 4 (from the fresh-resourceVersion apply above) must be serving before the restart.
    const before = await until('iris', (i) => traffic(i)[0]?.revisionName === 'iris-predictor-00004', 'revision 4 serving');
    await srv.stop();
    srv = await startInferd([], { dataDir });
    const got = await until('iris', (i) => traffic(i).length === 1, 'restored traffic');
    assert.deepEqual(traffic(got).map((t: any) => [t.revisionName, t.percent]), traffic(before).map((t: any) => [t.revisionName, t.percent]));
    assert.deepEqual(traffic(got).map((t: any) => t.revisionName), ['iris-predictor-00004']);
    assert.equal(got.metadata.resourceVersion, before.metadata.resourceVersion);
    assert.equal(got.metadata.generation, before.metadata.generation);
    assert.equal(got.status.components.predictor.latestCreatedRevision, 'iris-predictor-00004');
    assert.equal(got.status.components.predictor.previousRolledoutRevision, before.status.components.predictor.previousRolledoutRevision);
    assert.equal((await predict('iris')).headers.get('inferd-revision'), 'iris-predictor-00004');
    await until('ab', (i) => traffic(i).length === 2, 'canary entry restored');
  });

  it('deletes an InferenceService and unloads it', async () => {
    assert.match(await cli('delete', 'isvc', 'iris'), /deleted/);
    assert.equal((await predict('iris')).status, 404);
    assert.equal((await fetch(`${srv.http}/apis/serving.kserve.io/v1beta1/namespaces/default/inferenceservices/iris`)).status, 404);
    await assert.rejects(cli('delete', 'isvc', 'iris'), /404/);
  });
});
