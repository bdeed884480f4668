import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CLI, startInferd, waitReady, waitSettled, type InferdProcess } from '../helpers/inferd-process.js';
import { MANIFESTS, ONNX_FIXTURES, postJson } from '../helpers/fixtures.js';

const run = promisify(execFile);

describe('bad input, failed loads and status', () => {
  let srv: InferdProcess;
  let work: string;
  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'inferd-errors-'));
    writeFileSync(join(work, 'config.yaml'), `limits:\n  maxBodyBytes: 65536\nstorage:\n  pvcs:\n    fixtures: ${join(ONNX_FIXTURES, '..')}\n`);
    srv = await startInferd(['-f', join(MANIFESTS, 'onnx-models.yaml'), '-f', join(MANIFESTS, 'custom-runtime.yaml'), '--config', join(work, 'config.yaml')], { env: { INFERD_SERVER: '' } });
    await waitReady(srv.http);
  });
  after(async () => {
    await srv.stop();
  });

  const infer = (model: string, body: unknown, headers?: Record<string, string>) => postJson(`${srv.http}/v2/models/${model}/infer`, body, headers);
  const mlpInput = (over: Record<string, unknown>) => ({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4], ...over }] });

  const cases: Array<[string, () => ReturnType<typeof infer>, number, RegExp]> = [
    ['malformed JSON', () => infer('mlp', '{"inputs": [', {}), 400, /malformed JSON/],
    ['wrong datatype', () => infer('mlp', mlpInput({ datatype: 'FP64' })), 400, /datatype FP64 does not match the model's FP32/],
    ['unknown datatype', () => infer('mlp', mlpInput({ datatype: 'FLOAT' })), 400, /inputs\[0\]\.datatype/],
    ['wrong shape', () => infer('mlp', mlpInput({ shape: [2, 2] })), 400, /shape \[2,2\] does not match/],
    ['data not matching shape', () => infer('mlp', mlpInput({ data: [1, 2, 3] })), 400, /3 elements do not match shape \[1,4\]/],
    ['non-numeric data', () => infer('mlp', mlpInput({ data: [1, 'x', 3, 4] })), 400, /element 1 is "x"/],
    ['unknown input name', () => infer('mlp', mlpInput({ name: 'features' })), 400, /unknown input "features"/],
    ['unknown model', () => infer('nope', mlpInput({})), 404, /Model with name nope does not exist/],
    ['unknown output', () => infer('mlp', { ...mlpInput({}), outputs: [{ name: 'logits' }] }), 400, /unknown output "logits"/],
    ['oversize body', () => infer('mlp', mlpInput({ data: new Array(20000).fill(1.2345) })), 413, /larger than/],
    ['integer out of range', () => infer('identity-types', { inputs: [{ name: 'in_uint8', datatype: 'UINT8', shape: [1], data: [256] }] }), 400, /in \[0, 255\]/],
    ['huge declared shape', () => infer('mlp', mlpInput({ shape: [100000, 100000] })), 400, /exceed the limit/],
  ];
  for (const [name, send, status, message] of cases) {
    it(`answers ${status} for ${name}`, async () => {
      const res = await send();
      assert.equal(res.status, status, JSON.stringify(res.body));
      assert.match(res.body.error, message);
    });
  }

  it('answers 400 for a truncated binary payload and a lying header length', async () => {
    const header = Buffer.from(JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], parameters: { binary_data_size: 16 } }] }));
    const truncated = await fetch(`${srv.http}/v2/models/mlp/infer`, {
      method: 'POST',
      headers: { 'inference-header-content-length': String(header.length) },
      body: Buffer.concat([header, Buffer.alloc(10)]),
    });
    assert.equal(truncated.status, 400);
    assert.match(((await truncated.json()) as { error: string }).error, /runs past the end of the binary payload/);
    const lying = await fetch(`${srv.http}/v2/models/mlp/infer`, { method: 'POST', headers: { 'inference-header-content-length': '99999' }, body: header });
    assert.equal(lying.status, 400);
  });

  it('answers 400 naming the problem for invalid YAML and a wrong manifest field, applying nothing', async () => {
    const apply = (yaml: string) => fetch(`${srv.http}/apis/inferd.dev/v1/apply`, { method: 'POST', body: yaml, headers: { 'content-type': 'application/yaml' } });
    const bad = await apply('apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata: {name: x\n');
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: string }).error, /invalid YAML/);
    const wrongField = await apply(
      'apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata: {name: typo}\nspec:\n  predictor:\n    model:\n      modelFormat: {name: onnx}\n      storageURI: file:///tmp/x\n',
    );
    assert.equal(wrongField.status, 400);
    assert.match(((await wrongField.json()) as { error: string }).error, /document 1 .*field spec\.predictor\.model\.storageURI: unknown field/);
    const wrongType = await apply('apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata: {name: t2}\nspec:\n  predictor:\n    minReplicas: "two"\n    onnx: {storageUri: file:///tmp}\n');
    assert.match(((await wrongType.json()) as { error: string }).error, /field spec\.predictor\.minReplicas: .*expected number/);
    const unknownKind = await apply('apiVersion: serving.kserve.io/v1beta1\nkind: Predictor\nmetadata: {name: t3}\n');
    assert.match(((await unknownKind.json()) as { error: string }).error, /field kind: unknown kind "Predictor"/);
    const list = (await (await fetch(`${srv.http}/apis/serving.kserve.io/v1beta1/inferenceservices`)).json()) as { items: Array<{ metadata: { name: string } }> };
    assert.ok(!list.items.some((i) => ['typo', 't2', 't3'].includes(i.metadata.name)));
  });

  it('reports a corrupt model as FailedToLoad with the reason while other models keep serving', async () => {
    const dir = join(work, 'corrupt');
    mkdirSync(dir);
    writeFileSync(join(dir, 'model.onnx'), 'this is not an onnx protobuf');
    const yaml = `apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata: {name: broken}\nspec:\n  predictor:\n    model:\n      modelFormat: {name: onnx}\n      storageUri: file://${dir}\n`;
    const res = await fetch(`${srv.http}/apis/inferd.dev/v1/apply`, { method: 'POST', body: yaml });
    assert.equal(res.status, 200);
    const isvc = await waitSettled(srv.http, 'broken');
    const cond = isvc.status.conditions.find((c: { type: string }) => c.type === 'PredictorReady');
    assert.equal(cond.status, 'False');
    assert.equal(cond.reason, 'ModelLoadFailed');
    assert.match(cond.message, /ONNX Runtime could not load the model/);
    assert.equal(isvc.status.modelStatus.states.targetModelState, 'FailedToLoad');
    const call = await infer('broken', mlpInput({}));
    assert.equal(call.status, 503);
    const ok = await infer('mlp', mlpInput({}));
    assert.equal(ok.status, 200);
    const { stdout } = await run(process.execPath, [CLI, 'describe', 'isvc', 'broken', '--server', srv.http]);
    assert.match(stdout, /Last failure:\s+ModelLoadFailed/);
    const missing = `apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata: {name: missing-runtime}\nspec:\n  predictor:\n    model:\n      modelFormat: {name: caffe}\n      storageUri: file://${dir}\n`;
    await fetch(`${srv.http}/apis/inferd.dev/v1/apply`, { method: 'POST', body: missing });
    const noRuntime = await waitSettled(srv.http, 'missing-runtime');
    assert.equal(noRuntime.status.modelStatus.lastFailureInfo.reason, 'NoSupportingRuntime');
  });

  it('lists InferenceServices with their runtime through the CLI', async () => {
    const { stdout } = await run(process.execPath, [CLI, 'get', 'isvc', '--server', srv.http]);
    assert.match(stdout, /^NAMESPACE\s+NAME\s+READY/);
    assert.match(stdout, /default\s+mlp\s+True\s+Loaded\s+mlp-predictor-00001\s+inferd-onnx/);
    const json = JSON.parse((await run(process.execPath, [CLI, 'get', 'isvc', 'multi-io', '-o', 'json', '--server', srv.http])).stdout);
    assert.equal(json.status.clusterServingRuntimeName, 'inferd-onnx');
    const runtimes = (await run(process.execPath, [CLI, 'get', 'clusterservingruntimes', '--server', srv.http])).stdout;
    assert.match(runtimes, /inferd-onnx\s+ClusterServingRuntime\s+onnx/);
    await assert.rejects(run(process.execPath, [CLI, 'get', 'isvc', 'ghost', '--server', srv.http]), /404/);
  });

  it('serves a custom in-process JS model over V1 and V2', async () => {
    const v2 = await infer('scaler', { inputs: [{ name: 'x', datatype: 'FP64', shape: [2], data: [1.5, -2] }] });
    assert.equal(v2.status, 200, JSON.stringify(v2.body));
    assert.deepEqual(v2.body.outputs[0], { name: 'scaled', datatype: 'FP64', shape: [2], data: [4.5, -6] });
    const v1 = await postJson(`${srv.http}/v1/models/scaler:predict`, { instances: [[1, 2]] });
    assert.deepEqual(v1.body, { predictions: [[3, 6]] });
  });

  it('is still alive after all of the above', async () => {
    assert.equal((await fetch(`${srv.http}/v2/health/live`)).status, 200);
  });
});

describe('startup manifest errors', () => {
  it('refuses to start on a manifest with a wrong field, naming file, document and field', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'inferd-bad-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, `---\napiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata: {name: ok}\nspec: {predictor: {onnx: {storageUri: "file://${ONNX_FIXTURES}/mlp"}}}\n---\napiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata: {name: bad}\nspec: {predictor: {model: {modelFormat: {name: onnx}, replicas: 2}}}\n`);
    const err = await run(process.execPath, [CLI, 'serve', '-f', file, '--http-port', '0', '--grpc-port', '0']).catch((e: { code: number; stderr: string }) => e);
    assert.equal((err as { code: number }).code, 2);
    assert.match((err as { stderr: string }).stderr, /bad\.yaml document 2 .*field spec\.predictor\.model\.replicas: unknown field/);
  });
});
