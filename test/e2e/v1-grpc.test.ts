import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { REPO_ROOT, startInferd, waitReady, type InferdProcess } from '../helpers/inferd-process.js';
import { MANIFESTS, assertClose, expected, postJson } from '../helpers/fixtures.js';

// The client is built from KServe's grpc_predict_v2.proto alone, not from inferd's types.
const def = protoLoader.loadSync(join(REPO_ROOT, 'proto/grpc_predict_v2.proto'), { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
const { inference } = grpc.loadPackageDefinition(def) as any;

function call<T>(client: any, method: string, req: unknown): Promise<T> {
  return new Promise((resolve, reject) => client[method](req, (err: grpc.ServiceError | null, res: T) => (err ? reject(err) : resolve(res))));
}

describe('V1 REST and V2 gRPC against a real inferd serve', () => {
  let srv: InferdProcess;
  let client: any;
  before(async () => {
    srv = await startInferd(['-f', join(MANIFESTS, 'onnx-models.yaml'), '--config', join(MANIFESTS, 'inferd-config.yaml')]);
    await waitReady(srv.http);
    client = new inference.GRPCInferenceService(srv.grpc, grpc.credentials.createInsecure());
  });
  after(async () => {
    client.close();
    await srv.stop();
  });

  it('V1 :predict returns predictions row by row', async () => {
    const e = expected('mlp');
    const instances = [];
    for (let i = 0; i < 5; i++) instances.push(e.inputs.input!.data.slice(i * 4, i * 4 + 4));
    const res = await postJson(`${srv.http}/v1/models/mlp:predict`, { instances });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.predictions.length, 5);
    assertClose(res.body.predictions.flat(), e.outputs.probabilities!.data, 1e-5);
    const status = await (await fetch(`${srv.http}/v1/models/mlp`)).json();
    assert.deepEqual(status, { name: 'mlp', ready: true });
  });

  it('V1 with several inputs takes one object per instance and answers one object per row', async () => {
    const res = await postJson(`${srv.http}/v1/models/multi-io:predict`, { instances: [{ a: [1, -1, 0.5], b: [1, 2, 3] }] });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body.predictions, [{ sum: [2, 1, 3.5], doubled: [2, 4, 6], positive: [true, false, true] }]);
  });

  it('gRPC health and metadata', async () => {
    assert.deepEqual(await call(client, 'ServerLive', {}), { live: true });
    assert.deepEqual(await call(client, 'ServerReady', {}), { ready: true });
    assert.deepEqual(await call(client, 'ModelReady', { name: 'mlp', version: '' }), { ready: true });
    const meta = await call<any>(client, 'ServerMetadata', {});
    assert.equal(meta.name, 'inferd');
    const m = await call<any>(client, 'ModelMetadata', { name: 'multi-io', version: '' });
    assert.deepEqual(m.inputs.map((i: any) => [i.name, i.datatype, i.shape]), [['a', 'FP32', ['-1', '3']], ['b', 'INT64', ['-1', '3']]]);
  });

  it('gRPC ModelInfer with typed contents', async () => {
    const e = expected('multi-io');
    const res = await call<any>(client, 'ModelInfer', {
      model_name: 'multi-io',
      id: 'g1',
      inputs: [
        { name: 'a', datatype: 'FP32', shape: [2, 3], contents: { fp32_contents: e.inputs.a!.data } },
        { name: 'b', datatype: 'INT64', shape: [2, 3], contents: { int64_contents: e.inputs.b!.data.map(String) } },
      ],
    });
    assert.equal(res.id, 'g1');
    const byName = Object.fromEntries(res.outputs.map((o: any) => [o.name, o]));
    assertClose(byName.sum.contents.fp32_contents, e.outputs.sum!.data, 1e-6);
    assert.deepEqual(byName.doubled.contents.int64_contents, e.outputs.doubled!.data.map(String));
    assert.deepEqual(byName.positive.contents.bool_contents, e.outputs.positive!.data);
    assert.deepEqual(byName.sum.shape, ['2', '3']);
  });

  it('gRPC ModelInfer with raw_input_contents answers raw_output_contents', async () => {
    const e = expected('mlp');
    const x = new Float32Array(e.inputs.input!.data as number[]);
    const res = await call<any>(client, 'ModelInfer', {
      model_name: 'mlp',
      inputs: [{ name: 'input', datatype: 'FP32', shape: [5, 4] }],
      raw_input_contents: [Buffer.from(x.buffer)],
    });
    assert.equal(res.raw_output_contents.length, 1);
    const raw: Buffer = res.raw_output_contents[0];
    const out = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    assertClose(Array.from(out), e.outputs.probabilities!.data, 1e-5);
  });

  it('gRPC errors map to status codes', async () => {
    await assert.rejects(call(client, 'ModelInfer', { model_name: 'nope', inputs: [] }), (err: grpc.ServiceError) => err.code === grpc.status.NOT_FOUND);
    await assert.rejects(
      call(client, 'ModelInfer', { model_name: 'mlp', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: [1, 2] } }] }),
      (err: grpc.ServiceError) => err.code === grpc.status.INVALID_ARGUMENT && /2 values/.test(err.details),
    );
    await assert.rejects(
      call(client, 'ModelInfer', { model_name: 'mlp', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4] }], raw_input_contents: [Buffer.alloc(7)] }),
      (err: grpc.ServiceError) => err.code === grpc.status.INVALID_ARGUMENT && /7 bytes/.test(err.details),
    );
  });
});
