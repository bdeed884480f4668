import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { REPO_ROOT, startInferd, waitReady } from '../helpers/inferd-process.js';
import { assertClose, postJson } from '../helpers/fixtures.js';

const FIX = join(REPO_ROOT, 'test/fixtures');
const def = protoLoader.loadSync(join(REPO_ROOT, 'proto/grpc_predict_v2.proto'), { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
const { inference } = grpc.loadPackageDefinition(def) as any;

interface Case {
  dir: string;
  datatype: string;
  rows: Array<Array<number | null>>;
  want: number[];
  tolerance: number;
}

function fixture(kind: 'xgboost' | 'lightgbm' | 'sklearn' | 'onnx'): Case {
  if (kind === 'onnx') {
    const e = JSON.parse(readFileSync(join(FIX, 'onnx/mlp/expected.json'), 'utf8'));
    const data = e.inputs.input.data as number[];
    return { dir: join(FIX, 'onnx/mlp'), datatype: 'FP32', rows: [data.slice(0, 4), data.slice(4, 8)], want: e.outputs.probabilities.data.slice(0, 6), tolerance: 1e-5 };
  }
  if (kind === 'sklearn') {
    const dir = join(FIX, 'sklearn/random_forest_classifier');
    const e = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8'));
    return { dir, datatype: 'FP64', rows: e.X.slice(0, 3), want: e.predict.slice(0, 3), tolerance: 0 };
  }
  const dir = join(FIX, kind === 'xgboost' ? 'xgboost/binary_logistic' : 'lightgbm/lgbm-binary-bc');
  const e = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8'));
  return { dir, datatype: kind === 'xgboost' ? 'FP32' : 'FP64', rows: e.inputs.slice(0, 3), want: e.outputs.predict.slice(0, 3), tolerance: kind === 'xgboost' ? 1e-6 : 1e-9 };
}

describe('KServe model-server mode: inferd serve --model_name --model_dir --http_port', () => {
  for (const kind of ['onnx', 'sklearn', 'xgboost', 'lightgbm'] as const) {
    it(`serves a ${kind} model directory over V1, V2 REST and gRPC`, async () => {
      const c = fixture(kind);
      const srv = await startInferd(['--model_name=m', `--model_dir=${c.dir}`, '--http_port=0', '--grpc_port=0', '--host', '127.0.0.1']);
      try {
        await waitReady(srv.http);
        assert.deepEqual(await (await fetch(`${srv.http}/v1/models/m`)).json(), { name: 'm', ready: true });
        const v1 = await postJson(`${srv.http}/v1/models/m:predict`, { instances: c.rows });
        assert.equal(v1.status, 200, JSON.stringify(v1.body));
        assertClose((v1.body.predictions as unknown[]).flat() as number[], c.want, c.tolerance);
        const flat = c.rows.flat().map((v) => (v === null ? 0 : v));
        const width = c.rows[0]!.length;
        const meta = (await (await fetch(`${srv.http}/v2/models/m`)).json()) as { inputs: Array<{ name: string }> };
        const input = meta.inputs[0]!.name;
        if (!c.rows.flat().includes(null)) {
          const v2 = await postJson(`${srv.http}/v2/models/m/infer`, { inputs: [{ name: input, datatype: c.datatype, shape: [c.rows.length, width], data: flat }] });
          assert.equal(v2.status, 200, JSON.stringify(v2.body));
          assertClose(v2.body.outputs[0].data, c.want, c.tolerance);
        }
        const client = new inference.GRPCInferenceService(srv.grpc, grpc.credentials.createInsecure());
        const ready = await new Promise<any>((res, rej) => client.ModelReady({ name: 'm' }, (e: Error | null, r: unknown) => (e ? rej(e) : res(r))));
        assert.equal(ready.ready, true);
        client.close();
        assert.equal((await fetch(`${srv.http}/apis/serving.kserve.io/v1beta1/inferenceservices`)).status, 404, 'no admin API in model-server mode');
      } finally {
        await srv.stop();
      }
    });
  }
});
