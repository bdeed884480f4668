import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { REPO_ROOT, startInferd, type InferdProcess } from '../helpers/inferd-process.js';
import { SLOW_JS_RUNTIME } from '../helpers/fixtures.js';
import { adminKeyOf, createKey } from '../helpers/keys.js';

/**
 * Issue 17.6, bounded work per request, against a real `inferd serve` with auth on: a
 * binary body or raw gRPC contents that declare far more BYTES elements than the shape
 * are refused while decoding (memory is the observable: the peak RSS), a huge model name
 * costs its gRPC error a few bytes and leaves the connection usable, ragged data and
 * typed-plus-raw contents are refused, abuse bounds on OpenAI bodies and headers hold.
 */
const PROTO = join(REPO_ROOT, 'proto/grpc_predict_v2.proto');
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const { inference } = grpc.loadPackageDefinition(protoLoader.loadSync(PROTO, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true })) as any;

/** 60 MB of 4-byte zero length prefixes: 15.7 million empty BYTES elements for a shape of one. */
const FLOOD_BYTES = 60 * 1024 * 1024;
/** Generous: the body itself is buffered (60 MB, perhaps twice); decoding the flood took 2.3 GB. */
const MAX_PEAK_GROWTH_KB = 700 * 1024;

function peakKb(pid: number): number {
  const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0);
}

function grpcCall<T>(client: any, method: string, request: unknown, token: string): Promise<T> {
  const md = new grpc.Metadata();
  md.set('authorization', `Bearer ${token}`);
  md.set('inferd-namespace', 'team-a');
  return new Promise((resolve, reject) =>
    client[method](request, md, { deadline: Date.now() + 60_000 }, (err: grpc.ServiceError | null, res: T) => (err ? reject(err) : resolve(res))),
  );
}

describe('bounded work per request (issue 17.6)', () => {
  let srv: InferdProcess;
  let admin: string;
  let predictor: string;
  let client: any;
  const call = async (method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}) => {
    const res = await fetch(`${srv.http}${path}`, {
      method,
      ...(body !== undefined ? { body } : {}),
      headers: { authorization: `Bearer ${predictor}`, 'inferd-namespace': 'team-a', 'content-type': 'application/json', ...headers },
    });
    return { status: res.status, text: await res.text() };
  };

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'inferd-bounds-'));
    const dataDir = join(dir, 'data');
    writeFileSync(join(dir, 'models.yaml'), `${SLOW_JS_RUNTIME}---
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata: {name: echo, namespace: team-a}
spec: {predictor: {model: {modelFormat: {name: slow}}}}
`);
    srv = await startInferd(['-f', join(dir, 'models.yaml'), '--auth', 'keys'], { dataDir });
    admin = adminKeyOf(dataDir);
    predictor = await createKey(srv.http, admin, 'predictor', ['team-a']);
    for (let i = 0; i < 400; i++) {
      if ((await call('GET', '/v2/models/echo/ready')).status === 200) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    client = new inference.GRPCInferenceService(srv.grpc, grpc.credentials.createInsecure());
  });
  after(async () => {
    client?.close();
    await srv?.stop();
  });

  it('refuses a binary body whose BYTES data holds more elements than its shape [1], without decoding the rest', async () => {
    const header = Buffer.from(JSON.stringify({ inputs: [{ name: 'x', datatype: 'BYTES', shape: [1], parameters: { binary_data_size: FLOOD_BYTES } }] }));
    const body = Buffer.concat([header, Buffer.alloc(FLOOD_BYTES)]);
    const before = peakKb(srv.child.pid!);
    const r = await call('POST', '/v2/models/echo/infer', body, { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) });
    const growth = peakKb(srv.child.pid!) - before;
    assert.ok(growth < MAX_PEAK_GROWTH_KB, `peak RSS grew by ${Math.round(growth / 1024)} MB`);
    assert.equal(r.status, 400, r.text);
    assert.match(r.text, /inputs\[0\].*more elements than the shape/);
    assert.equal((await call('POST', '/v2/models/echo/infer', JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 1], data: [1] }] }))).status, 200);
  });

  it('holds a BYTES shape to limits.maxBytesElements (413) before reading its data', async () => {
    const n = 2 * 1024 * 1024;
    const header = Buffer.from(JSON.stringify({ inputs: [{ name: 'x', datatype: 'BYTES', shape: [n], parameters: { binary_data_size: 4 * n } }] }));
    const r = await call('POST', '/v2/models/echo/infer', Buffer.concat([header, Buffer.alloc(4 * n)]), { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) });
    assert.equal(r.status, 413, r.text);
    assert.match(r.text, /inputs\[0\]\.shape: 2097152 BYTES elements exceed the limit of 1048576/);
  });

  it('refuses the same flood in gRPC raw_input_contents', async () => {
    const before = peakKb(srv.child.pid!);
    const answer = await grpcCall(client, 'ModelInfer', { model_name: 'echo', inputs: [{ name: 'x', datatype: 'BYTES', shape: ['1'] }], raw_input_contents: [Buffer.alloc(FLOOD_BYTES)] }, predictor).then(
      () => undefined,
      (err: grpc.ServiceError) => err,
    );
    const growth = peakKb(srv.child.pid!) - before;
    assert.ok(growth < MAX_PEAK_GROWTH_KB, `peak RSS grew by ${Math.round(growth / 1024)} MB`);
    assert.equal(answer?.code, grpc.status.INVALID_ARGUMENT, answer?.details);
    assert.match(answer.details, /more elements than the shape/);
  });

  it('answers a 100 KB gRPC model name with a short NOT_FOUND, and the connection keeps working', async () => {
    const name = 'm'.repeat(100 * 1024);
    await assert.rejects(
      grpcCall(client, 'ModelInfer', { model_name: name, inputs: [{ name: 'x', datatype: 'FP32', shape: ['1', '1'], contents: { fp32_contents: [1] } }] }, predictor),
      (err: grpc.ServiceError) => {
        assert.equal(err.code, grpc.status.NOT_FOUND, err.details);
        assert.ok(err.details.length < 300, `grpc-message of ${err.details.length} characters`);
        return true;
      },
    );
    await assert.rejects(grpcCall(client, 'ModelMetadata', { name, version: '' }, predictor), (err: grpc.ServiceError) => err.code === grpc.status.NOT_FOUND && err.details.length < 300);
    const ok = await grpcCall<{ outputs: unknown[] }>(client, 'ModelInfer', { model_name: 'echo', inputs: [{ name: 'x', datatype: 'FP32', shape: ['1', '1'], contents: { fp32_contents: [1] } }] }, predictor);
    assert.equal(ok.outputs.length, 1);
  });

  it('refuses a gRPC request with both typed contents and raw_input_contents', async () => {
    const raw = Buffer.from(new Float32Array([2]).buffer);
    await assert.rejects(
      grpcCall(client, 'ModelInfer', { model_name: 'echo', inputs: [{ name: 'x', datatype: 'FP32', shape: ['1', '1'], contents: { fp32_contents: [1] } }], raw_input_contents: [raw] }, predictor),
      (err: grpc.ServiceError) => err.code === grpc.status.INVALID_ARGUMENT && /inputs\[0\]\.contents/.test(err.details),
    );
  });

  it('refuses ragged nested data that has the right element count (V1 instances: test/protocols/ragged-data.test.ts)', async () => {
    const v2 = await call('POST', '/v2/models/echo/infer', JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 4], data: [[1, 1, 1, 1, 1], [1, 1, 1]] }] }));
    assert.equal(v2.status, 400, v2.text);
    assert.match(v2.text, /inputs\[0\]\.data: ragged/);
    const strings = await call('POST', '/v2/models/echo/infer', JSON.stringify({ inputs: [{ name: 'x', datatype: 'BYTES', shape: [2, 2], data: [['a', 'b', 'c'], ['d']] }] }));
    assert.equal(strings.status, 400, strings.text);
    assert.match(strings.text, /inputs\[0\]\.data: ragged/);
    const fine = await call('POST', '/v2/models/echo/infer', JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 1], data: [[1], [2]] }] }));
    assert.equal(fine.status, 200, fine.text);
  });

  it('bounds OpenAI bodies and headers with clear 400s', async () => {
    const chat = (extra: Record<string, unknown>) => call('POST', '/v1/chat/completions', JSON.stringify({ model: 'echo', messages: [{ role: 'user', content: 'hi' }], ...extra }));
    const bias = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [String(i), 1]));
    for (const [extra, param] of [
      [{ logit_bias: bias }, 'logit_bias'],
      [{ stop: ['x'.repeat(5000)] }, 'stop'],
      [{ messages: Array.from({ length: 5000 }, () => ({ role: 'user', content: 'hi' })) }, 'messages'],
    ] as const) {
      const r = await chat(extra);
      assert.equal(r.status, 400, `${param}: ${r.text.slice(0, 200)}`);
      assert.ok((JSON.parse(r.text) as { error: { param: string } }).error.param.startsWith(param), r.text.slice(0, 200));
    }
    const prompts = await call('POST', '/v1/completions', JSON.stringify({ model: 'echo', prompt: Array.from({ length: 1000 }, () => 'p') }));
    assert.equal(prompts.status, 400, prompts.text.slice(0, 200));
    const timeout = await call('POST', '/v2/models/echo/infer', JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 1], data: [1] }] }), { 'inferd-timeout': '1e300' });
    assert.equal(timeout.status, 400, timeout.text);
    assert.match(timeout.text, /Inferd-Timeout/);
  });
});
