import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startInferd, type InferdProcess } from '../helpers/inferd-process.js';
import { postJson } from '../helpers/fixtures.js';
import { GENERATED, TF_FIXTURES, assertCloseRel, brokenModels, expectedOf } from '../runtimes/tensorflow/helpers.js';

function isvc(name: string, format: string, uri: string, args: string[] = []): string {
  return `apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata:
  name: ${name}
spec:
  predictor:
    model:
      modelFormat:
        name: ${format}
      storageUri: file://${uri}
${args.length ? `      args: [${args.map((a) => JSON.stringify(a)).join(', ')}]\n` : ''}`;
}

async function waitModels(base: string, names: string[], timeoutMs = 90_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (const n of names) {
    while (Date.now() < end) {
      const r = await fetch(`${base}/v2/models/${n}/ready`).catch(() => undefined);
      if (r?.status === 200) break;
      await new Promise((res) => setTimeout(res, 200));
    }
  }
}

describe('TensorFlow models through a real inferd serve', () => {
  let srv: InferdProcess;
  const v2 = (model: string, body: unknown) => postJson(`${srv.http}/v2/models/${model}/infer`, body);
  const v1 = (model: string, body: unknown) => postJson(`${srv.http}/v1/models/${model}:predict`, body);

  before(async () => {
    const b = brokenModels();
    const docs = [
      isvc('hpt-tf1', 'tensorflow', join(TF_FIXTURES, 'half_plus_two_tf1')),
      isvc('hpt-tf2', 'tensorflow', join(TF_FIXTURES, 'half_plus_two_tf2')),
      isvc('hpt-regress', 'tensorflow', join(TF_FIXTURES, 'half_plus_two_tf2/00000123'), ['--signature_name=regress_x2_to_y3']),
      isvc('times-three', 'tensorflow', join(TF_FIXTURES, 'times_three_float')),
      isvc('times-two', 'tensorflow', join(TF_FIXTURES, 'times_two_int')),
      isvc('graph-model', 'tfjs', join(TF_FIXTURES, 'graph_model')),
      isvc('mlp', 'tensorflow', join(GENERATED, 'mlp')),
      isvc('cnn', 'tensorflow', join(GENERATED, 'cnn')),
      isvc('unsupported-op', 'tensorflow', b.unsupportedOp),
      isvc('truncated-index', 'tensorflow', b.truncatedIndex),
      isvc('crc-mismatch', 'tensorflow', b.crcMismatch),
    ];
    const manifest = join(b.root, 'models.yaml');
    writeFileSync(manifest, docs.join('---\n'));
    srv = await startInferd(['-f', manifest]);
    await waitModels(srv.http, ['hpt-tf1', 'hpt-tf2', 'hpt-regress', 'times-three', 'times-two', 'graph-model', 'mlp', 'cnn']);
  });
  after(async () => {
    assert.equal(await srv.stop(), 0);
  });

  it('V2 metadata names signature tensors; V2 infer on every fixture', async () => {
    const meta = (await (await fetch(`${srv.http}/v2/models/hpt-tf1`)).json()) as Record<string, unknown>;
    assert.equal(meta.platform, 'tensorflow_savedmodel');
    assert.deepEqual(meta.inputs, [{ name: 'x', datatype: 'FP32', shape: [-1, 1] }]);
    const tf1 = await v2('hpt-tf1', { inputs: [{ name: 'x', datatype: 'FP32', shape: [3, 1], data: [1, 2, 5] }] });
    assert.equal(tf1.status, 200, JSON.stringify(tf1.body));
    assert.deepEqual(tf1.body.outputs[0].data, [2.5, 3, 4.5]);
    const tf2 = await v2('hpt-tf2', { inputs: [{ name: 'x', datatype: 'FP32', shape: [1], data: [5] }] });
    assert.deepEqual(tf2.body.outputs, [{ name: 'y', datatype: 'FP32', shape: [1], data: [4.5] }]);
    const regress = await v2('hpt-regress', { inputs: [{ name: 'inputs', datatype: 'FP32', shape: [1], data: [2] }] });
    assert.deepEqual(regress.body.outputs[0].data, [4]);
    const three = await v2('times-three', { inputs: [{ name: 'x', datatype: 'FP32', shape: [], data: [3] }] });
    assert.deepEqual(three.body.outputs[0].data, [9]);
    const two = await v2('times-two', { inputs: [{ name: 'x', datatype: 'INT32', shape: [], data: [3] }] });
    assert.deepEqual(two.body.outputs[0], { name: 'output_0', datatype: 'INT32', shape: [], data: [6] });
    const g = await v2('graph-model', { inputs: [{ name: 'Placeholder:0', datatype: 'FP32', shape: [2, 2], data: [1, 0, 0, 1] }] });
    assertCloseRel(g.body.outputs[0].data, [0.017376, -0.450125, 0.739385, 0.266632], 1e-4);
  });

  it("TF Serving REST: row and columnar formats, signature_name, TF1 and TF2", async () => {
    assert.deepEqual((await v1('hpt-tf1', { instances: [1, 2, 5] })).body, { predictions: [2.5, 3, 4.5] });
    assert.deepEqual((await v1('hpt-tf2', { instances: [1, 2, 5] })).body, { predictions: [2.5, 3, 4.5] });
    assert.deepEqual((await v1('hpt-tf2', { inputs: { x: [1, 2, 5] } })).body, { outputs: [2.5, 3, 4.5] });
    assert.deepEqual((await v1('hpt-tf2', { signature_name: 'regress_x2_to_y3', instances: [{ inputs: 1 }, { inputs: 2 }] })).body, { predictions: [3.5, 4] });
    assert.deepEqual((await v1('hpt-tf1', { signature_name: 'regress_x2_to_y3', inputs: [[1], [4]] })).body, { outputs: [[3.5], [5]] });
    assert.deepEqual((await v1('times-two', { instances: [1, 2, 3] })).body, { predictions: [2, 4, 6] });
    assert.deepEqual((await v1('times-three', { inputs: [1, 2, 3] })).body, { outputs: [3, 6, 9] });
  });

  it('TF Serving status, metadata and version paths; V2 parameters.signature_name', async () => {
    const get = async (path: string) => {
      const r = await fetch(`${srv.http}${path}`);
      return { status: r.status, body: (await r.json()) as any };
    };
    const status = await get('/v1/models/hpt-tf2');
    assert.deepEqual(status.body.model_version_status, [{ version: '123', state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } }]);
    assert.equal((await get('/v1/models/hpt-tf2/versions/123')).status, 200);
    const meta = await get('/v1/models/hpt-tf2/metadata');
    assert.deepEqual(meta.body.model_spec, { name: 'hpt-tf2', signature_name: '', version: '123' });
    const defs = meta.body.metadata.signature_def.signature_def;
    assert.ok(defs.serving_default && defs.regress_x2_to_y3, Object.keys(defs).join(','));
    assert.equal(defs.serving_default.inputs.x.dtype, 'DT_FLOAT');
    assert.equal(defs.serving_default.method_name, 'tensorflow/serving/predict');
    assert.deepEqual((await postJson(`${srv.http}/v1/models/hpt-tf2/versions/123:predict`, { instances: [1, 2] })).body, { predictions: [2.5, 3] });
    const wrong = await postJson(`${srv.http}/v1/models/hpt-tf2/versions/7:predict`, { instances: [1] });
    assert.equal(wrong.status, 404);
    assert.match(JSON.stringify(wrong.body), /no version 7; it serves version 123/);
    assert.equal((await get('/v1/models/hpt-tf2/versions/7/metadata')).status, 404);

    const regressIn = defs.regress_x2_to_y3.inputs;
    const inName = Object.keys(regressIn)[0]!;
    const dims = regressIn[inName].tensor_shape.dim.map((d: { size: string }) => Number(d.size));
    assert.deepEqual(dims, [1]);
    const named = await v2('hpt-tf2', { parameters: { signature_name: 'regress_x2_to_y3' }, inputs: [{ name: inName, datatype: 'FP32', shape: [1], data: [2] }] });
    assert.equal(named.status, 200, JSON.stringify(named.body));
    assert.deepEqual(named.body.outputs[0].data, [4]);
    // Naming the default signature takes the ordinary (batched) path with the same answer.
    const dflt = await v2('hpt-tf2', { parameters: { signature_name: 'serving_default' }, inputs: [{ name: 'x', datatype: 'FP32', shape: [1], data: [5] }] });
    assert.deepEqual(dflt.body.outputs[0].data, [4.5]);
    const unknown = await v2('hpt-tf2', { parameters: { signature_name: 'nope' }, inputs: [{ name: 'x', datatype: 'FP32', shape: [1], data: [5] }] });
    assert.equal(unknown.status, 400);
    assert.match(JSON.stringify(unknown.body), /parameters.signature_name: unknown signature \\"nope\\"/);
  });

  it('generated MLP and CNN match numpy within 1e-5 over V2 and TF Serving REST', async () => {
    const e = expectedOf('mlp');
    const r = await v2('mlp', { inputs: [{ name: 'input_1', datatype: 'FP32', shape: e.inputs.input_1!.shape, data: e.inputs.input_1!.data }] });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assertCloseRel(r.body.outputs[0].data, e.outputs.dense_1!.data, 1e-5);
    const rows = [];
    for (let i = 0; i < 5; i++) rows.push(e.inputs.input_1!.data.slice(i * 16, i * 16 + 16));
    const p = await v1('mlp', { instances: rows });
    assertCloseRel((p.body.predictions as number[][]).flat(), e.outputs.dense_1!.data, 1e-5);
    const c = expectedOf('cnn');
    const cr = await v2('cnn', { inputs: [{ name: 'conv2d_input', datatype: 'FP32', shape: c.inputs.conv2d_input!.shape, data: c.inputs.conv2d_input!.data }] });
    assertCloseRel(cr.body.outputs[0].data, c.outputs.dense!.data, 1e-5);
  });

  it('bad input gets clear errors: unknown signature, wrong dtype, wrong shape', async () => {
    const sig = await v1('hpt-tf2', { signature_name: 'nope', instances: [1] });
    assert.equal(sig.status, 400);
    assert.match(JSON.stringify(sig.body), /unknown signature_name \\"nope\\"/);
    const parse = await v1('hpt-tf2', { signature_name: 'classify_x_to_y', instances: ['a'] });
    assert.equal(parse.status, 400);
    assert.match(JSON.stringify(parse.body), /ParseExampleV2/);
    const dtype = await v2('times-two', { inputs: [{ name: 'x', datatype: 'FP32', shape: [], data: [3] }] });
    assert.equal(dtype.status, 400);
    assert.match(JSON.stringify(dtype.body), /datatype FP32 does not match the model's INT32/);
    const shape = await v2('mlp', { inputs: [{ name: 'input_1', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }] });
    assert.equal(shape.status, 400);
    assert.match(JSON.stringify(shape.body), /shape \[1,4\]/);
    const notNum = await v1('mlp', { instances: [['x']] });
    assert.equal(notNum.status, 400);
  });

  it('broken models fail to load with the reason while the others keep serving', async () => {
    const reasons: Record<string, RegExp> = {
      'unsupported-op': /MatrixInverse/,
      'truncated-index': /truncated/,
      'crc-mismatch': /CRC32C mismatch/,
    };
    for (const [name, pattern] of Object.entries(reasons)) {
      const end = Date.now() + 60_000;
      let text = '';
      while (Date.now() < end) {
        const res = await fetch(`${srv.http}/apis/serving.kserve.io/v1beta1/namespaces/default/inferenceservices/${name}`);
        text = await res.text();
        if (pattern.test(text)) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      assert.match(text, pattern, `${name} status names the reason`);
      const r = await v2(name, { inputs: [{ name: 'input_1', datatype: 'FP32', shape: [1, 16], data: new Array(16).fill(0) }] });
      assert.notEqual(r.status, 200);
    }
    assert.deepEqual((await v1('hpt-tf2', { instances: [1] })).body, { predictions: [2.5] });
  });
});
