import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { writeGguf } from '../../scripts/gen-gguf.js';
import { CLI, REPO_ROOT, startInferd, waitReady, type InferdProcess } from '../helpers/inferd-process.js';

const def = protoLoader.loadSync(join(REPO_ROOT, 'proto/grpc_predict_v2.proto'), { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
const { inference } = grpc.loadPackageDefinition(def) as any;
// Control tokens of the generated vocabulary; banning them (with greedy decoding) makes a generation run to max_tokens.
const NO_EOS = { '2': -100, '3': -100, '4': -100 };
const BODY = JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 1], data: [1] }] });

/** A slow custom model and a tiny GGUF LLM, with `shutdownGraceSeconds` and inference audited. */
function setup(delayMs: number, graceSeconds: number): { dir: string; args: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'inferd-term-'));
  writeGguf(join(dir, 'tiny.gguf'), { preset: 'tiny', seed: 7 });
  writeFileSync(join(dir, 'inferd.yaml'), `shutdownGraceSeconds: ${graceSeconds}\nsecurity:\n  audit:\n    inference: true\n`);
  writeFileSync(join(dir, 'models.yaml'), `apiVersion: serving.kserve.io/v1alpha1
kind: ServingRuntime
metadata: {name: slow, annotations: {inferd.dev/module: "${join(REPO_ROOT, 'test/fixtures/custom/slow-model.mjs')}"}}
spec:
  supportedModelFormats: [{name: slow, autoSelect: true}]
  containers: [{name: kserve-container, args: ["--delay_ms=${delayMs}"]}]
---
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata: {name: slow}
spec: {predictor: {containerConcurrency: 16, model: {modelFormat: {name: slow}}}}
---
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata: {name: tiny}
spec: {predictor: {model: {modelFormat: {name: gguf}, storageUri: "file://${join(dir, 'tiny.gguf')}", args: ["--max-model-len", "4096"]}}}
`);
  // A drain window as in production (the listener answers 503 for it before closing); the
  // cut at the grace deadline or a second signal ends it early.
  return { dir, args: ['--config', join(dir, 'inferd.yaml'), '-f', join(dir, 'models.yaml'), '--no-watch', '--shutdown-drain-seconds', '2'] };
}

/** A chat completion stream; resolves `started` at its first chunk and `done` with the whole SSE text. */
function chatStream(base: string, maxTokens: number): { started: Promise<void>; done: Promise<string> } {
  let started!: () => void;
  const startedP = new Promise<void>((r) => (started = r));
  const done = (async () => {
    const res = await fetch(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'tiny', messages: [{ role: 'user', content: 'tell me a story' }], stream: true, max_tokens: maxTokens, temperature: 0, logit_bias: NO_EOS }),
    });
    assert.equal(res.status, 200);
    let text = '';
    const decoder = new TextDecoder();
    for await (const part of res.body!) {
      text += decoder.decode(part as Uint8Array, { stream: true });
      started();
    }
    return text;
  })();
  return { started: startedP, done };
}

/**
 * Polls /v2/health/ready back to back on one keep-alive connection opened before the signal,
 * until an answer is not 200 (a status, or 0 for a connection the server closed); `answers`
 * resolves with each answer and its time.
 */
function pollReadiness(base: string): { answers: Promise<Array<{ at: number; status: number }>> } {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const once = () => new Promise<number>((resolve) => {
    const req = request(`${base}/v2/health/ready`, { agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
    req.end();
  });
  const answers = (async () => {
    const seen: Array<{ at: number; status: number }> = [];
    for (let status = 200; status === 200 && seen.length < 200_000;) {
      status = await once();
      seen.push({ at: performance.now(), status });
    }
    agent.destroy();
    return seen;
  })();
  return { answers };
}

function grpcInfer(target: string): Promise<number> {
  const client = new inference.GRPCInferenceService(target, grpc.credentials.createInsecure());
  return new Promise((resolve) => {
    client.ModelInfer({ model_name: 'slow', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 1], contents: { fp32_contents: [1] } }] }, (err: grpc.ServiceError | null) => {
      client.close();
      resolve(err ? err.code : grpc.status.OK);
    });
  });
}

async function started(srv: InferdProcess): Promise<void> {
  await waitReady(srv.http, 60_000);
  // One call each first, so the measured requests find loaded, warm models.
  assert.equal((await fetch(`${srv.http}/v2/models/slow/infer`, { method: 'POST', body: BODY })).status, 200);
}

describe('graceful shutdown on SIGTERM', () => {
  it('finishes accepted requests and an LLM stream, is unready at once, exits 0, keeps the store and audit log whole', async (t) => {
    const { dir, args } = setup(600, 20);
    const dataDir = join(dir, 'data');
    const srv = await startInferd(args, { dataDir });
    await started(srv);
    // A change applied just before the signal must survive it.
    const applied = await fetch(`${srv.http}/apis/inferd.dev/v1/apply`, {
      method: 'POST',
      headers: { 'content-type': 'application/yaml' },
      body: `apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata: {name: late}\nspec: {predictor: {model: {modelFormat: {name: slow}}}}\n`,
    });
    assert.equal(applied.status, 200, await applied.clone().text());

    const stream = chatStream(srv.http, 400);
    await stream.started;
    let firstDone = Infinity;
    const v2 = Array.from({ length: 8 }, () => fetch(`${srv.http}/v2/models/slow/infer`, { method: 'POST', body: BODY }).then((r) => {
      firstDone = Math.min(firstDone, performance.now());
      return r.status;
    }));
    const rpc = Array.from({ length: 3 }, () => grpcInfer(srv.grpc));
    const poll = pollReadiness(srv.http);
    await new Promise((r) => setTimeout(r, 150)); // all accepted and running in the model
    const signalled = performance.now();
    const exited = srv.stop();
    const polls = await poll.answers;

    const firstNotReady = polls.find((p) => p.status !== 200);
    assert.ok(firstNotReady, 'readiness turned false');
    assert.ok(polls.every((p) => p.status === 200 || p.at >= signalled), 'ready until the signal');
    const ms = firstNotReady.at - signalled;
    assert.equal(firstNotReady.status, 503, 'answered not-ready on the open connection');
    t.diagnostic(`readiness false ${ms.toFixed(1)} ms after SIGTERM was sent`);

    assert.deepEqual(await Promise.all(v2), new Array(8).fill(200), 'every accepted V2 request completes');
    // "At once" as an order, not a wall-clock bound: unready while the accepted work still runs.
    assert.ok(firstNotReady.at < firstDone, 'readiness turned false before the first accepted request finished');
    assert.deepEqual(await Promise.all(rpc), [0, 0, 0], 'every accepted gRPC call completes');
    const sse = await stream.done;
    const tail = sse.slice(-300);
    assert.ok(sse.trimEnd().endsWith('data: [DONE]'), `the stream ends normally: ${tail}`);
    assert.doesNotMatch(sse, /"error"/, tail);
    assert.match(sse, /"finish_reason":"length"/, tail);
    assert.equal(await exited, 0);
    assert.ok(srv.logs.some((l) => l.msg === 'shutting down' && l.graceSeconds === 20));

    const again = await startInferd([], { dataDir });
    try {
      const late = await fetch(`${again.http}/apis/serving.kserve.io/v1beta1/namespaces/default/inferenceservices/late`);
      assert.equal(late.status, 200, 'the apply before SIGTERM is in the store');
    } finally {
      assert.equal(await again.stop(), 0);
    }
    const verify = spawnSync(process.execPath, [CLI, 'audit', 'verify', '--data-dir', dataDir], { encoding: 'utf8' });
    assert.equal(verify.status, 0, verify.stdout + verify.stderr);
  });

  it('a second SIGTERM ends the remaining work with 503, UNAVAILABLE and a stream error event', async () => {
    const { args } = setup(30_000, 60);
    const srv = await startInferd(args);
    await waitReady(srv.http, 60_000);
    const stream = chatStream(srv.http, 3500);
    await stream.started;
    const v2 = Array.from({ length: 3 }, () => fetch(`${srv.http}/v2/models/slow/infer`, { method: 'POST', body: BODY }).then((r) => r.status));
    const rpc = Array.from({ length: 2 }, () => grpcInfer(srv.grpc));
    await new Promise((r) => setTimeout(r, 200));
    srv.child.kill('SIGTERM');
    await srv.waitForLog((l) => l.msg === 'shutting down');
    srv.child.kill('SIGTERM');
    assert.deepEqual(await Promise.all(v2), [503, 503, 503]);
    assert.deepEqual(await Promise.all(rpc), [grpc.status.UNAVAILABLE, grpc.status.UNAVAILABLE]);
    const sse = await stream.done;
    assert.match(sse, /data: \{"error":\{[^\n]*shutting down/, 'the stream carries an error event');
    assert.ok(sse.trimEnd().endsWith('data: [DONE]'));
    assert.equal(await srv.stop(), 0);
    assert.ok(srv.logs.some((l) => l.reason === 'second SIGTERM'));
  });

  it('at the grace deadline the remaining work ends with 503 and the process exits 0', async () => {
    const { args } = setup(30_000, 1);
    const srv = await startInferd(args);
    await waitReady(srv.http, 60_000);
    const v2 = Array.from({ length: 3 }, () => fetch(`${srv.http}/v2/models/slow/infer`, { method: 'POST', body: BODY }).then((r) => r.status));
    await new Promise((r) => setTimeout(r, 200));
    const exited = srv.stop();
    assert.deepEqual(await Promise.all(v2), [503, 503, 503]);
    assert.equal(await exited, 0);
    assert.ok(srv.logs.some((l) => l.reason === 'grace period over'));
  });
});
