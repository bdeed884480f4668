import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { writeGguf } from '../../scripts/gen-gguf.js';
import { REPO_ROOT, startInferd, waitReady, type InferdProcess } from '../helpers/inferd-process.js';
import { ONNX_FIXTURES, assertClose, expected, postJson } from '../helpers/fixtures.js';

const PROTO = join(REPO_ROOT, 'proto/grpc_predict_v2.proto');
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const { inference } = grpc.loadPackageDefinition(protoLoader.loadSync(PROTO, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true })) as any;

const isvc = (name: string, format: string, uri: string, annotations = '', args = '') => `---
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata: {name: ${name}${annotations ? `, annotations: {${annotations}}` : ''}}
spec:
  predictor:
    minReplicas: 0
    model: {modelFormat: {name: ${format}}, storageUri: "file://${uri}"${args ? `, args: ${args}` : ''}}
`;

type MemoryView = { loaded: number; loads: number; models: Array<{ name: string; state: string }> };
type Isvc = { status: { modelStatus: { states: { activeModelState: string; targetModelState: string } }; conditions: Array<{ type: string; status: string; reason?: string }> } };

/**
 * minReplicas 0 models, lazy by default: on standby until their first request, unloaded when
 * idle, and loaded again by a request on whichever protocol it comes: V1, V2 REST, V2 gRPC,
 * TF Serving REST and OpenAI.
 */
describe('scale from zero on every protocol (minReplicas 0)', () => {
  let srv: InferdProcess;
  const mlp = expected('mlp');
  const rows = Array.from({ length: 5 }, (_, i) => mlp.inputs.input!.data.slice(i * 4, i * 4 + 4));

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'inferd-s0-'));
    writeGguf(join(dir, 'tiny.gguf'), { preset: 'tiny', seed: 7 });
    writeFileSync(join(dir, 'config.yaml'), 'serving:\n  idleUnloadSeconds: 1\n  minResidencySeconds: 0\n');
    writeFileSync(
      join(dir, 'models.yaml'),
      isvc('mlp', 'onnx', join(ONNX_FIXTURES, 'mlp')) +
        isvc('hpt', 'tensorflow', join(REPO_ROOT, 'test/fixtures/tensorflow/half_plus_two_tf2')) +
        isvc('tiny', 'gguf', join(dir, 'tiny.gguf'), '', '["--max-model-len", "256", "--max-num-seqs", "1"]') +
        isvc('warm', 'onnx', join(ONNX_FIXTURES, 'mlp'), 'inferd.dev/load: eager') +
        // A model served by an external process: requests are forwarded, after the process starts on demand.
        `---\napiVersion: serving.kserve.io/v1alpha1\nkind: ServingRuntime\nmetadata: {name: doubler}\nspec:\n  supportedModelFormats: [{name: doubler, autoSelect: true}]\n  containers:\n    - name: kserve-container\n      command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(join(REPO_ROOT, 'test/fixtures/process/v2-server.mjs'))}]\n      args: ["--model_name={{.Name}}", "--http_port=8080"]\n` +
        isvc('twice', 'doubler', dir),
    );
    srv = await startInferd(['-f', join(dir, 'models.yaml'), '--config', join(dir, 'config.yaml')]);
    await waitReady(srv.http, 60_000);
  });
  after(async () => {
    await srv.stop();
  });

  const memory = async () => (await (await fetch(`${srv.http}/apis/inferd.dev/v1/memory`)).json()) as MemoryView;
  const stateOf = async (name: string) => (await memory()).models.find((m) => m.name === name)?.state;
  const isvcOf = async (name: string) => (await (await fetch(`${srv.http}/apis/serving.kserve.io/v1beta1/namespaces/default/inferenceservices/${name}`)).json()) as Isvc;
  const loadEvents = async (name: string) => {
    const body = (await (await fetch(`${srv.http}/apis/inferd.dev/v1/namespaces/default/inferenceservices/${name}/events`)).json()) as { items?: Array<{ reason: string; message: string }> };
    return (body.items ?? []).filter((e) => e.reason === 'ModelLoaded');
  };
  /** Polls (bounded) until the model is in `state`. */
  const waitState = async (name: string, state: string) => {
    for (let i = 0; i < 600 && (await stateOf(name)) !== state; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(await stateOf(name), state, `${name} never reached ${state}`);
  };

  it('lazy by default: on standby (and Ready) until the first request; the eager annotation loads at start', async () => {
    for (let i = 0; i < 600 && !(await loadEvents('warm')).length; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal((await loadEvents('warm')).length, 1, 'the eager model loaded at start');
    for (const name of ['mlp', 'hpt', 'tiny', 'twice']) {
      assert.equal(await stateOf(name), 'Standby', `${name} loaded before any request`);
      assert.deepEqual(await loadEvents(name), [], `${name} loaded before any request`);
      const s = (await isvcOf(name)).status;
      assert.deepEqual(s.modelStatus.states, { activeModelState: 'Standby', targetModelState: 'Standby' });
      const ready = s.conditions.find((c) => c.type === 'Ready')!;
      assert.deepEqual([ready.status, ready.reason], ['True', 'Standby']);
    }
    // What readiness says is what a request will do: it loads the model and answers.
    assert.equal((await fetch(`${srv.http}/v2/models/mlp/ready`)).status, 200);
    assert.deepEqual(await (await fetch(`${srv.http}/v1/models/mlp`)).json(), { name: 'mlp', ready: true });
  });

  it('refuses an unknown load mode, and lazy on a model that is pinned (minReplicas >= 1), naming the field', async () => {
    const apply = async (yaml: string) => {
      const res = await fetch(`${srv.http}/apis/inferd.dev/v1/apply`, { method: 'POST', body: yaml, headers: { 'content-type': 'application/yaml' } });
      return { status: res.status, text: await res.text() };
    };
    const doc = (ann: string, min: number) => `apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata: {name: bad-load, annotations: {inferd.dev/load: "${ann}"}}\nspec: {predictor: {minReplicas: ${min}, model: {modelFormat: {name: onnx}, storageUri: "file://${join(ONNX_FIXTURES, 'mlp')}"}}}\n`;
    for (const [ann, min] of [['sometimes', 0], ['lazy', 1]] as const) {
      const r = await apply(doc(ann, min));
      assert.equal(r.status, 400, r.text);
      assert.match(r.text, /inferd\.dev\/load/);
    }
  });

  it('V1 :predict loads a model that went idle', async () => {
    await waitState('warm', 'Standby'); // eager models idle-unload like the others
    const before = (await memory()).loads;
    const res = await postJson(`${srv.http}/v1/models/warm:predict`, { instances: rows });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assertClose(res.body.predictions.flat(), mlp.outputs.probabilities!.data, 1e-5);
    assert.ok((await memory()).loads > before, 'the request loaded the model');
    await waitState('warm', 'Standby');
    const again = await postJson(`${srv.http}/v1/models/warm:predict`, { instances: rows });
    assert.equal(again.status, 200, JSON.stringify(again.body));
  });

  it('V2 REST loads it', async () => {
    await waitState('mlp', 'Standby');
    const res = await postJson(`${srv.http}/v2/models/mlp/infer`, { inputs: [{ name: 'input', datatype: 'FP32', shape: [5, 4], data: mlp.inputs.input!.data }] });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assertClose(res.body.outputs[0].data, mlp.outputs.probabilities!.data, 1e-5);
  });

  it('V2 gRPC loads it', async () => {
    await waitState('mlp', 'Standby');
    const client = new inference.GRPCInferenceService(srv.grpc, grpc.credentials.createInsecure());
    try {
      const res = await new Promise<{ outputs: Array<{ contents: { fp32_contents: number[] } }> }>((resolve, reject) =>
        client.ModelInfer({ model_name: 'mlp', inputs: [{ name: 'input', datatype: 'FP32', shape: [5, 4], contents: { fp32_contents: mlp.inputs.input!.data } }] }, (err: Error | null, r: never) => (err ? reject(err) : resolve(r))),
      );
      assertClose(res.outputs[0]!.contents.fp32_contents, mlp.outputs.probabilities!.data, 1e-5);
    } finally {
      client.close();
    }
  });

  it('TF Serving REST loads it (and the first request may be a versioned one)', async () => {
    assert.equal(await stateOf('hpt'), 'Standby');
    assert.deepEqual((await postJson(`${srv.http}/v1/models/hpt/versions/123:predict`, { instances: [1, 2] })).body, { predictions: [2.5, 3] });
    await waitState('hpt', 'Standby');
    const res = await postJson(`${srv.http}/v1/models/hpt:predict`, { signature_name: 'serving_default', instances: [1, 2, 5] });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body, { predictions: [2.5, 3, 4.5] });
  });

  it('OpenAI completions load an on-demand LLM', async () => {
    assert.equal(await stateOf('tiny'), 'Standby');
    const res = await postJson(`${srv.http}/v1/completions`, { model: 'tiny', prompt: 'hello', max_tokens: 2, temperature: 0 });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.object, 'text_completion');
    await waitState('tiny', 'Standby');
    // Still listed for OpenAI clients while on standby: a request loads it.
    const list = (await (await fetch(`${srv.http}/v1/models`)).json()) as { data: Array<{ id: string }> };
    assert.ok(list.data.some((m) => m.id === 'tiny'), JSON.stringify(list));
    const chat = await postJson(`${srv.http}/openai/v1/chat/completions`, { model: 'tiny', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 });
    assert.equal(chat.status, 200, JSON.stringify(chat.body));
  });

  it('a model served by an external process starts on demand and gets the request forwarded (V1 and V2)', async () => {
    assert.equal(await stateOf('twice'), 'Standby');
    const v1 = await postJson(`${srv.http}/v1/models/twice:predict`, { instances: [1, 2] });
    assert.equal(v1.status, 200, JSON.stringify(v1.body));
    assert.deepEqual(v1.body, { predictions: [2, 4] });
    await waitState('twice', 'Standby');
    const v2 = await postJson(`${srv.http}/v2/models/twice/infer`, { inputs: [{ name: 'x', datatype: 'FP32', shape: [2], data: [3, 4] }] });
    assert.equal(v2.status, 200, JSON.stringify(v2.body));
    assert.deepEqual(v2.body.outputs[0].data, [6, 8]);
  });

  it('records each load on demand as an event', async () => {
    const events = await loadEvents('mlp');
    assert.ok(events.length >= 1 && events.every((e) => /on demand/.test(e.message)), JSON.stringify(events));
  });
});
