import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { encodeModel, floatTensor, node, seededFloats, valueInfo } from '../../scripts/onnx-builder.js';
import { startInferd, waitReady, type InferdProcess } from '../helpers/inferd-process.js';

const N = 512;
const ROWS = 256;

/** [256,512]·[512,512] three times: 200 M multiply-adds a call, milliseconds on any core. */
function heavyModel(): Uint8Array {
  return encodeModel({
    name: 'heavy',
    inputs: [valueInfo('x', 'FP32', [ROWS, N])],
    outputs: [valueInfo('y', 'FP32', [ROWS, N])],
    initializers: [floatTensor('w', [N, N], seededFloats(7, N * N, 1 / Math.sqrt(N)))],
    nodes: [node('MatMul', ['x', 'w'], ['h1']), node('MatMul', ['h1', 'w'], ['h2']), node('MatMul', ['h2', 'w'], ['y'])],
  });
}

function service(name: string, dir: string, args: string[]): string {
  return `apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata: {name: ${name}}
spec: {predictor: {model: {modelFormat: {name: onnx}, storageUri: "file://${dir}", args: ${JSON.stringify(args)}}}}
`;
}

/** The load log states each worker model's thread decision, from its probed cost (the machine's cores: the test asserts what the policy gives for them). */
describe('threads of a model follow its measured cost', () => {
  let srv: InferdProcess;
  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'inferd-threads-'));
    const modelDir = join(dir, 'model');
    mkdirSync(modelDir);
    writeFileSync(join(modelDir, 'model.onnx'), heavyModel());
    writeFileSync(join(dir, 'heavy.yaml'), service('heavy', modelDir, []));
    writeFileSync(join(dir, 'pinned.yaml'), service('pinned', modelDir, ['--intra_op_threads=1']));
    srv = await startInferd(['-f', dir]);
    await waitReady(srv.http, 120_000);
  });
  after(async () => {
    await srv.stop();
  });

  it('gives a heavy model a single-threaded replica per core, logs why, and shows them in its stats', async () => {
    const line = await srv.waitForLog((l) => l.model === 'heavy' && typeof l.intraOp === 'number');
    const cores = availableParallelism();
    assert.deepEqual([line.replicas, line.intraOp], [cores, 1]);
    const stats = (await (await fetch(`${srv.http}/apis/inferd.dev/v1/namespaces/default/inferenceservices/heavy/stats`)).json()) as { items: Array<{ replicas?: { current: number } }> };
    assert.equal(stats.items[0]?.replicas?.current, cores);
    assert.ok(typeof line.probeMicros === 'number' && line.probeMicros >= 500, String(line.probeMicros));
    assert.match(String(line.reason), /heavy/);
  });

  it("keeps the threads a user set in the model's args", async () => {
    const line = await srv.waitForLog((l) => l.model === 'pinned' && typeof l.intraOp === 'number');
    assert.deepEqual([line.replicas, line.intraOp], [1, 1]);
    assert.match(String(line.reason), /user/);
  });

  it('answers from its replicas', async () => {
    const res = await fetch(`${srv.http}/v2/models/heavy/infer`, {
      method: 'POST',
      body: JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [ROWS, N], data: new Array(ROWS * N).fill(0) }] }),
    });
    const body = (await res.json()) as { outputs: Array<{ shape: number[]; data: number[] }> };
    assert.equal(res.status, 200, JSON.stringify(body).slice(0, 300));
    assert.deepEqual(body.outputs[0]!.shape, [ROWS, N]);
    assert.ok(body.outputs[0]!.data.every((v) => v === 0));
  });
});
