import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { encodeModel, floatTensor, node, seededFloats, valueInfo } from '../../scripts/onnx-builder.js';
import { decodeRaw } from '../../src/protocols/v2/binary-tensor.js';
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

function service(name: string, dir: string, args: string[], logTo?: string): string {
  const logger = logTo ? `logger: {mode: request, url: "file://${logTo}"}, ` : '';
  return `apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata: {name: ${name}}
spec: {predictor: {${logger}model: {modelFormat: {name: onnx}, storageUri: "file://${dir}", args: ${JSON.stringify(args)}}}}
`;
}

/** A V2 request with the binary tensor data extension: JSON header, then the raw FP32 bytes. */
function binaryRequest(x: Float32Array): { body: Buffer; headers: Record<string, string> } {
  const head = Buffer.from(JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [ROWS, N], parameters: { binary_data_size: x.byteLength } }], outputs: [{ name: 'y', parameters: { binary_data: true } }] }));
  return { body: Buffer.concat([head, Buffer.from(x.buffer, x.byteOffset, x.byteLength)]), headers: { 'inference-header-content-length': String(head.length), 'content-type': 'application/octet-stream' } };
}

async function inferBinary(url: string, x: Float32Array): Promise<Float32Array> {
  const { body, headers } = binaryRequest(x);
  const res = await fetch(url, { method: 'POST', headers, body });
  const bytes = Buffer.from(await res.arrayBuffer());
  assert.equal(res.status, 200, bytes.toString().slice(0, 300));
  const jsonLen = Number(res.headers.get('inference-header-content-length'));
  return decodeRaw('FP32', bytes.subarray(jsonLen), ROWS * N, 'y') as Float32Array;
}

async function inferJson(url: string, x: Float32Array): Promise<Float32Array> {
  const res = await fetch(url, { method: 'POST', body: JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [ROWS, N], data: Array.from(x) }] }) });
  const body = (await res.json()) as { outputs: Array<{ data: number[] }> };
  assert.equal(res.status, 200, JSON.stringify(body).slice(0, 300));
  return Float32Array.from(body.outputs[0]!.data);
}

/** The load log states each worker model's thread decision, from its probed cost (the machine's cores: the test asserts what the policy gives for them). */
describe('threads of a model follow its measured cost', () => {
  let srv: InferdProcess;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'inferd-threads-'));
    const modelDir = join(dir, 'model');
    mkdirSync(modelDir);
    writeFileSync(join(modelDir, 'model.onnx'), heavyModel());
    const manifests = join(dir, 'manifests');
    mkdirSync(manifests);
    writeFileSync(join(manifests, 'heavy.yaml'), service('heavy', modelDir, []));
    writeFileSync(join(manifests, 'pinned.yaml'), service('pinned', modelDir, ['--intra_op_threads=1']));
    writeFileSync(join(manifests, 'logged.yaml'), service('logged', modelDir, [], join(dir, 'payloads.jsonl')));
    writeFileSync(join(dir, 'config.yaml'), `observability:\n  payloadLogger: {fileRoot: "${dir}"}\n`);
    srv = await startInferd(['-f', manifests, '--config', join(dir, 'config.yaml')]);
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

  // A binary body moves to the replica's thread instead of being copied: each answer must still come from its own request's bytes.
  it('answers concurrent binary requests, each from its own input, as JSON requests are answered', async () => {
    const url = `${srv.http}/v2/models/heavy/infer`;
    const inputs = [1, 2, 3, 4, 5, 6].map((seed) => seededFloats(seed, ROWS * N));
    const binary = await Promise.all(inputs.map((x) => inferBinary(url, x)));
    for (const [i, x] of inputs.entries()) {
      const expected = await inferJson(url, x);
      assert.equal(binary[i]!.length, ROWS * N);
      assert.deepEqual(binary[i], expected, `request ${i}`);
    }
    assert.notDeepEqual(binary[0], binary[1]);
  });

  it("logs a binary request's full size when the model's payload logger is on", async () => {
    const x = seededFloats(9, ROWS * N);
    const { body } = binaryRequest(x);
    const y = await inferBinary(`${srv.http}/v2/models/logged/infer`, x);
    assert.deepEqual(y, await inferBinary(`${srv.http}/v2/models/heavy/infer`, x));
    let events: Array<{ type: string; bytes: number }> = [];
    for (let i = 0; i < 100 && events.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
      events = readFileSync(join(dir, 'payloads.jsonl'), { encoding: 'utf8', flag: 'a+' }).split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; bytes: number });
    }
    assert.deepEqual(events.map((e) => [e.type, e.bytes]), [['org.kubeflow.serving.inference.request', body.length]]);
  });
});
