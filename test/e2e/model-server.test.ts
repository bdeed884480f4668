import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { REPO_ROOT, startInferd, waitReady } from '../helpers/inferd-process.js';
import { assertClose, postJson } from '../helpers/fixtures.js';
import { writeGguf } from '../../scripts/gen-gguf.js';

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

type GrpcClient = Record<string, (req: unknown, cb: (e: Error | null, r: any) => void) => void> & { close(): void };
const call = (client: GrpcClient, method: string, req: unknown) => new Promise<any>((res, rej) => client[method]!(req, (e, r) => (e ? rej(e) : res(r))));

/** The typed-contents field of a V2 gRPC tensor for its datatype. */
const CONTENTS: Record<string, string> = { FP32: 'fp32_contents', FP64: 'fp64_contents', INT32: 'int_contents', INT64: 'int64_contents', BOOL: 'bool_contents', BYTES: 'bytes_contents' };

function fixture(kind: 'xgboost' | 'lightgbm' | 'sklearn' | 'onnx' | 'tensorflow'): Case {
  if (kind === 'tensorflow') {
    // A Keras MLP SavedModel whose expected outputs were computed with numpy.
    const dir = join(FIX, 'tensorflow/generated/mlp');
    const e = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8'));
    const data = e.inputs.input_1.data as number[];
    return { dir, datatype: 'FP32', rows: [0, 1, 2].map((i) => data.slice(i * 16, i * 16 + 16)), want: e.outputs.dense_1.data.slice(0, 9), tolerance: 1e-5 };
  }
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

  it('answers without credentials by default, as KServe runtimes do; --auth keys turns authentication on', async () => {
    const dir = join(FIX, 'onnx/mlp');
    const open = await startInferd(['--model_name=m', `--model_dir=${dir}`, '--http_port=0', '--grpc_port=0', '--host', '127.0.0.1'], { serverDefaultAuth: true });
    try {
      await waitReady(open.http);
      assert.equal((await fetch(`${open.http}/v1/models/m`)).status, 200);
    } finally {
      await open.stop();
    }
    const keyed = await startInferd(['--model_name=m', `--model_dir=${dir}`, '--http_port=0', '--grpc_port=0', '--host', '127.0.0.1', '--auth', 'keys']);
    try {
      assert.equal((await fetch(`${keyed.http}/v1/models/m`)).status, 401);
    } finally {
      await keyed.stop();
    }
  });

  for (const kind of ['onnx', 'sklearn', 'xgboost', 'lightgbm', 'tensorflow'] as const) {
    it(`serves a ${kind} model directory over V1, V2 REST and gRPC`, async () => {
      const c = fixture(kind);
      const srv = await startInferd(['--model_name=m', `--model_dir=${c.dir}`, '--http_port=0', '--grpc_port=0', '--host', '127.0.0.1']);
      try {
        await waitReady(srv.http);
        const status = (await (await fetch(`${srv.http}/v1/models/m`)).json()) as any;
        // KServe's TensorFlow runtime is TF Serving, whose model status inferd answers for TensorFlow models.
        if (kind === 'tensorflow') assert.equal(status.model_version_status[0].state, 'AVAILABLE');
        else assert.deepEqual(status, { name: 'm', ready: true });
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
        const client = new inference.GRPCInferenceService(srv.grpc, grpc.credentials.createInsecure()) as GrpcClient;
        assert.equal((await call(client, 'ModelReady', { name: 'm' })).ready, true);
        if (!c.rows.flat().includes(null)) {
          const r = await call(client, 'ModelInfer', { model_name: 'm', inputs: [{ name: input, datatype: c.datatype, shape: [c.rows.length, width], contents: { [CONTENTS[c.datatype]!]: flat } }] });
          const out = r.outputs[0];
          const values = r.raw_output_contents.length ? [] : (out.contents[CONTENTS[out.datatype]!] as Array<number | string>).map(Number);
          assert.equal(r.raw_output_contents.length, 0, 'typed request, typed answer');
          assertClose(values, c.want, c.tolerance, 'gRPC ModelInfer');
        }
        client.close();
        assert.equal((await fetch(`${srv.http}/apis/serving.kserve.io/v1beta1/inferenceservices`)).status, 404, 'no admin API in model-server mode');
      } finally {
        await srv.stop();
      }
    });
  }

  it('serves a GGUF LLM as KServe\'s huggingface/vLLM runtime does: OpenAI routes, V1/V2 text, gRPC (hyphenated flags)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'inferd-ms-llm-'));
    writeGguf(join(dir, 'tiny.gguf'), { preset: 'tiny', seed: 7 });
    const srv = await startInferd(['--model-name', 'tiny', '--model-dir', dir, '--http-port', '0', '--grpc-port', '0', '--host', '127.0.0.1']);
    try {
      await waitReady(srv.http);
      assert.deepEqual(await (await fetch(`${srv.http}/v2/models/tiny/ready`)).json(), { name: 'tiny', ready: true });
      const meta = (await (await fetch(`${srv.http}/v2/models/tiny`)).json()) as any;
      assert.deepEqual([meta.inputs[0].name, meta.inputs[0].datatype, meta.outputs[0].name], ['text_input', 'BYTES', 'text_output']);
      for (const path of ['/v1/models', '/openai/v1/models']) {
        const list = (await (await fetch(`${srv.http}${path}`)).json()) as { data: Array<{ id: string }> };
        assert.deepEqual(list.data.map((m) => m.id), ['tiny'], path);
      }
      const chat = { model: 'tiny', messages: [{ role: 'user', content: 'hello' }], max_tokens: 4, temperature: 0 };
      const answers: string[] = [];
      for (const path of ['/openai/v1/chat/completions', '/v1/chat/completions']) {
        const r = await postJson(`${srv.http}${path}`, chat);
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.equal(r.body.object, 'chat.completion');
        assert.ok(r.body.usage.completion_tokens >= 1 && r.body.usage.completion_tokens <= 4);
        answers.push(r.body.choices[0].message.content);
      }
      assert.equal(answers[0], answers[1], 'both prefixes reach the same model (greedy decoding)');
      const v1 = await postJson(`${srv.http}/v1/models/tiny:predict`, { instances: ['hello'] });
      assert.equal(v1.status, 200, JSON.stringify(v1.body));
      assert.equal(typeof v1.body.predictions[0], 'string');
      const v2 = await postJson(`${srv.http}/v2/models/tiny/infer`, { inputs: [{ name: 'text_input', datatype: 'BYTES', shape: [1], data: ['hello'] }] });
      assert.equal(v2.status, 200, JSON.stringify(v2.body));
      assert.equal(v2.body.outputs[0].name, 'text_output');
      assert.equal(typeof v2.body.outputs[0].data[0], 'string');
      const wrong = await postJson(`${srv.http}/v2/models/tiny/infer`, { inputs: [{ name: 'x', datatype: 'FP32', shape: [1], data: [1] }] });
      assert.equal(wrong.status, 400);
      assert.match(wrong.body.error, /text_input/, 'a non-text V2 request names the input an LLM takes');
      const client = new inference.GRPCInferenceService(srv.grpc, grpc.credentials.createInsecure()) as GrpcClient;
      const r = await call(client, 'ModelInfer', { model_name: 'tiny', inputs: [{ name: 'text_input', datatype: 'BYTES', shape: [1], contents: { bytes_contents: [Buffer.from('hello')] } }] });
      client.close();
      assert.equal(r.outputs[0].name, 'text_output');
      const text = r.raw_output_contents.length ? r.raw_output_contents[0].subarray(4).toString() : r.outputs[0].contents.bytes_contents[0].toString();
      assert.ok(text.length > 0);
    } finally {
      await srv.stop();
    }
  });

  it('--model_format overrides detection; readiness stays false while the model is not loaded, liveness answers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'inferd-ms-bad-'));
    writeGguf(join(dir, 'tiny.gguf'), { preset: 'tiny', seed: 1 });
    // A GGUF file named as ONNX: the load fails, so the model never becomes ready.
    const srv = await startInferd(['--model_name=m', `--model_dir=${dir}`, '--model_format=onnx', '--http_port=0', '--host', '127.0.0.1']);
    try {
      await srv.waitForLog((l) => /fail/i.test(String(l.msg)) && l.model === 'm');
      assert.equal((await fetch(`${srv.http}/v2/health/live`)).status, 200);
      assert.equal((await fetch(`${srv.http}/v2/health/ready`)).status, 503);
      assert.equal((await fetch(`${srv.http}/v2/models/m/ready`)).status, 503);
      const v1 = await fetch(`${srv.http}/v1/models/m`);
      assert.equal(v1.status, 503, 'KServe V1 answers a model that is not ready with 503');
      assert.equal(((await v1.json()) as { ready?: boolean }).ready, false);
      const meta = (await (await fetch(`${srv.http}/v2/models/m`)).json()) as { platform?: string };
      assert.notEqual(meta.platform, 'llama.cpp_gguf', 'served as the named format, not the detected one');
    } finally {
      await srv.stop();
    }
  });
});
