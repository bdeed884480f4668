import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { REPO_ROOT, startInferd, waitReady, type InferdProcess } from '../helpers/inferd-process.js';
import { ONNX_FIXTURES, postJson } from '../helpers/fixtures.js';
import { has, parseProm, run, value, which, type PromSample } from '../observability/prom-text.js';

const SLOW = join(REPO_ROOT, 'test/fixtures/custom/slow-model.mjs');
const PROMTOOL = which('promtool');
const PROMETHEUS = which('prometheus');
const SECRET = 'sk-live-9f8e7d6c5b4a39281706f5e4d3c2b1a0';
const BEARER = 'Bearer inferd_supersecret_token_0123456789';

const protoDef = protoLoader.loadSync(join(REPO_ROOT, 'proto/grpc_predict_v2.proto'), { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
const { inference } = grpc.loadPackageDefinition(protoDef) as any;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

describe('metrics end to end: exact counts after a known sequence', () => {
  let srv: InferdProcess;
  let dir: string;
  let metricsPort: number;
  const payloadFile = () => join(dir, 'payloads.jsonl');
  const scrape = async (base = srv.http): Promise<{ text: string; samples: PromSample[] }> => {
    const res = await fetch(`${base}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    return { text, samples: parseProm(text) };
  };
  const row = (i: number) => ({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: [i * 0.37, -i * 0.11, i % 5, 1 - i * 0.05] }] });
  const L = (model: string, protocol = 'v2') => ({ namespace: 'default', model, revision: `${model}-predictor-00001`, protocol });
  const client: { statuses: Record<string, number[]> } = { statuses: {} };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'inferd-metrics-'));
    writeFileSync(join(dir, 'config.yaml'), `serving:\n  maxQueue: 100\nobservability:\n  metrics: {port: 0}\n  requestLog: {level: info}\n  payloadLogger: {fileRoot: "${dir}"}\n`);
    writeFileSync(join(dir, 'models.yaml'), `
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata: {name: plain}
spec: {predictor: {model: {modelFormat: {name: onnx}, storageUri: "file://${join(ONNX_FIXTURES, 'mlp')}"}}}
---
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata: {name: batched}
spec:
  predictor:
    batcher: {maxBatchSize: 16, maxLatency: 50}
    model: {modelFormat: {name: onnx}, storageUri: "file://${join(ONNX_FIXTURES, 'mlp')}"}
---
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata: {name: logged}
spec:
  predictor:
    logger: {mode: all, url: "file://${join(dir, 'payloads.jsonl')}"}
    model: {modelFormat: {name: onnx}, storageUri: "file://${join(ONNX_FIXTURES, 'mlp')}"}
---
apiVersion: serving.kserve.io/v1alpha1
kind: ServingRuntime
metadata:
  name: slow
  annotations: {inferd.dev/module: "${SLOW}"}
spec:
  supportedModelFormats: [{name: slow, autoSelect: true}]
  containers: [{name: kserve-container, args: ["--delay_ms=300"]}]
---
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata: {name: slow}
spec: {predictor: {containerConcurrency: 1, model: {modelFormat: {name: slow}}}}
`);
    srv = await startInferd(['-f', join(dir, 'models.yaml'), '--config', join(dir, 'config.yaml')]);
    await waitReady(srv.http);
    metricsPort = (srv.logs.find((l) => typeof l.metricsPort === 'number')?.metricsPort as number | undefined) ?? -1;

    // The known sequence.
    const record = (what: string, status: number) => (client.statuses[what] ??= []).push(status);
    for (let i = 0; i < 5; i++) record('plain-v2', (await postJson(`${srv.http}/v2/models/plain/infer`, row(i))).status);
    record('plain-v1', (await postJson(`${srv.http}/v1/models/plain:predict`, { instances: [[1, 2, 3, 4]] })).status);
    record('plain-400', (await postJson(`${srv.http}/v2/models/plain/infer`, { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }] })).status);
    record('plain-400', (await postJson(`${srv.http}/v2/models/plain/infer`, '{not json')).status);
    for (const name of ['nope', 'missing', `evil"name{}`]) record('404', (await postJson(`${srv.http}/v2/models/${encodeURIComponent(name)}/infer`, row(1))).status);
    const slow = await Promise.all(Array.from({ length: 16 }, () => postJson(`${srv.http}/v2/models/slow/infer`, { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 1], data: [1] }] })));
    for (const r of slow) record('slow', r.status);
    const batch = await Promise.all(Array.from({ length: 8 }, (_, i) => postJson(`${srv.http}/v2/models/batched/infer`, row(i))));
    for (const r of batch) record('batched', r.status);
    const g = new inference.GRPCInferenceService(srv.grpc, grpc.credentials.createInsecure());
    const gcall = (req: unknown) => new Promise<number>((resolve) => g.ModelInfer(req, (err: grpc.ServiceError | null) => resolve(err ? err.code : 0)));
    const ok = { model_name: 'plain', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: [1, 2, 3, 4] } }] };
    record('grpc', await gcall(ok));
    record('grpc', await gcall(ok));
    record('grpc', await gcall({ ...ok, model_name: 'ghost' }));
    g.close();
  });
  after(async () => {
    await srv?.stop();
  });

  it('counts requests by endpoint, protocol and status exactly', async () => {
    const { samples } = await scrape();
    assert.deepEqual(client.statuses['plain-v2'], [200, 200, 200, 200, 200]);
    assert.equal(value(samples, 'inferd_requests_total', { ...L('plain'), code: '200' }), 5);
    assert.equal(value(samples, 'inferd_requests_total', { ...L('plain', 'v1'), code: '200' }), 1);
    assert.equal(value(samples, 'inferd_requests_total', { ...L('plain'), code: '400' }), 2);
    assert.equal(value(samples, 'inferd_request_errors_total', { ...L('plain'), class: 'invalid_input' }), 2);
    // 404s for models that do not exist: one fixed label value, never the requested name.
    assert.deepEqual(client.statuses['404'], [404, 404, 404]);
    assert.equal(value(samples, 'inferd_requests_total', { model: '_unknown', namespace: '_unknown', revision: '_unknown', protocol: 'v2', code: '404' }), 3);
    assert.equal(value(samples, 'inferd_request_errors_total', { model: '_unknown', class: 'not_found', protocol: 'v2' }), 3);
    for (const s of samples) for (const v of Object.values(s.labels)) assert.ok(!/nope|missing|evil|ghost/.test(v), `user input in a label: ${JSON.stringify(s)}`);
    // 429s from the bounded queue: exactly what the client saw.
    const slow = client.statuses.slow!;
    const refused = slow.filter((s) => s === 429).length;
    assert.ok(refused >= 5, `${refused} refused`);
    assert.equal(value(samples, 'inferd_requests_total', { ...L('slow'), code: '429' }), refused);
    assert.equal(value(samples, 'inferd_requests_total', { ...L('slow'), code: '200' }), slow.filter((s) => s === 200).length);
    assert.equal(value(samples, 'inferd_request_errors_total', { ...L('slow'), class: 'overloaded' }), refused);
    assert.equal(value(samples, 'inferd_rate_limited_requests_total'), 0, 'queue-full 429s are not rate limits');
    // gRPC: status codes as `code`.
    assert.deepEqual(client.statuses.grpc, [0, 0, 5]);
    assert.equal(value(samples, 'inferd_requests_total', { ...L('plain', 'grpc'), code: '0' }), 2);
    assert.equal(value(samples, 'inferd_requests_total', { model: '_unknown', protocol: 'grpc', code: '5' }), 1);
  });

  it('histogram counts match the requests; buckets are cumulative and span 50µs..60s', async () => {
    const { samples } = await scrape();
    const labels = L('plain');
    assert.equal(value(samples, 'inferd_request_duration_seconds_count', labels), 7);
    assert.equal(value(samples, 'inferd_request_duration_seconds_bucket', { ...labels, le: '+Inf' }), 7);
    const buckets = samples.filter((s) => s.name === 'inferd_request_duration_seconds_bucket' && s.labels.model === 'plain' && s.labels.protocol === 'v2');
    assert.equal(Number(buckets[0]!.labels.le), 0.00005);
    assert.equal(Number(buckets.at(-2)!.labels.le), 60);
    for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i]!.value >= buckets[i - 1]!.value);
    assert.ok(value(samples, 'inferd_request_duration_seconds_sum', labels) > 0);
    // Requests that reached the runtime: 5 V2 + 1 V1 + 2 gRPC, each queued once and computed unbatched.
    const ep = { namespace: 'default', model: 'plain', revision: 'plain-predictor-00001' };
    assert.equal(value(samples, 'inferd_queue_duration_seconds_count', ep), 8);
    assert.equal(value(samples, 'inferd_compute_duration_seconds_count', ep), 8);
    assert.equal(value(samples, 'inferd_batch_size_sum', ep), 8);
    assert.equal(value(samples, 'inferd_batch_size_bucket', { ...ep, le: '1' }), 8);
    // KServe's name: every request of the model, all protocols.
    assert.equal(value(samples, 'request_predict_seconds_count', { model_name: 'plain' }), 5 + 1 + 2 + 2);
    assert.ok(!has(samples, 'request_predict_seconds_count', { model_name: '_unknown' }));
  });

  it('a batch: 8 requests in fewer runtime calls, and the batch counters agree', async () => {
    const { samples } = await scrape();
    assert.deepEqual(client.statuses.batched, Array(8).fill(200));
    const ep = { namespace: 'default', model: 'batched', revision: 'batched-predictor-00001' };
    assert.equal(value(samples, 'inferd_requests_total', { ...L('batched'), code: '200' }), 8);
    assert.equal(value(samples, 'inferd_batch_size_sum', ep), 8);
    const calls = value(samples, 'inferd_batch_size_count', ep);
    assert.ok(calls < 8, `${calls} runtime calls for 8 requests`);
    assert.equal(value(samples, 'inferd_compute_duration_seconds_count', ep), calls);
    assert.equal(value(samples, 'inferd_queue_duration_seconds_count', ep), 8);
    const merged = value(samples, 'inferd_batches_total', ep);
    assert.ok(merged >= 1);
    assert.equal(value(samples, 'inferd_batched_requests_total', ep) + (calls - merged), 8);
  });

  it('scrape-time gauges and load metrics', async () => {
    const { samples } = await scrape();
    for (const m of ['plain', 'batched', 'logged', 'slow']) {
      assert.equal(value(samples, 'inferd_model_state', { model: m, state: 'Loaded' }), 1);
      assert.equal(value(samples, 'inferd_model_loads_total', { namespace: 'default', model: m, outcome: 'success' }), 1);
      assert.equal(value(samples, 'inferd_queue_depth', { model: m }), 0);
      assert.equal(value(samples, 'inferd_replicas', { model: m }), 1);
    }
    assert.equal(value(samples, 'inferd_model_load_duration_seconds_count'), 4);
    assert.ok(value(samples, 'inferd_model_memory_bytes', { model: 'plain' }) > 0);
    assert.ok(value(samples, 'inferd_memory_used_bytes') > 0);
    assert.ok(has(samples, 'process_cpu_seconds_total'));
    assert.ok(has(samples, 'nodejs_eventloop_lag_p99_seconds'));
    assert.ok(has(samples, 'inferd_build_info'));
    // No GPU here: the GPU series are absent, not zero.
    if (!which('nvidia-smi')) assert.ok(!samples.some((s) => s.name.startsWith('inferd_gpu_')));
  });

  it('the separate metrics port serves the same registry', async () => {
    assert.ok(metricsPort > 0, 'metricsPort logged at start');
    const { samples } = await scrape(`http://127.0.0.1:${metricsPort}`);
    assert.ok(value(samples, 'inferd_requests_total', { ...L('plain'), code: '200' }) >= 5);
    assert.equal((await fetch(`http://127.0.0.1:${metricsPort}/v2/models/plain/infer`, { method: 'POST', body: '{}' })).status, 404);
  });

  it('promtool check metrics passes on the output', { skip: PROMTOOL ? false : 'promtool not installed (apt-get install prometheus); CI installs it' }, async () => {
    const { text } = await scrape();
    const r = await run(PROMTOOL!, ['check', 'metrics'], text);
    assert.equal(r.code, 0, r.out);
  });

  it('request ids: X-Request-Id is kept and returned, else one is generated', async () => {
    const mine = await postJson(`${srv.http}/v2/models/plain/infer`, row(1), { 'x-request-id': 'trace-abc-123' });
    assert.equal(mine.headers.get('x-request-id'), 'trace-abc-123');
    const gen = await postJson(`${srv.http}/v2/models/plain/infer`, row(1));
    assert.match(gen.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
    const bad = await postJson(`${srv.http}/v2/models/plain/infer`, row(1), { 'x-request-id': 'a b c <script>' });
    assert.match(bad.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/, 'an unsafe id is replaced');
    const line = await srv.waitForLog((l) => l.msg === 'request' && l.reqId === 'trace-abc-123');
    assert.equal(line.model, 'plain');
    assert.equal(line.revision, 'plain-predictor-00001');
    assert.equal(line.status, 200);
    assert.equal(typeof line.ms, 'number');
    assert.equal(line.protocol, 'v2');
  });

  it('neither a secret in the body nor the Authorization header reaches the logs; the payload logger redacts', async () => {
    const body = { id: SECRET, parameters: { api_key: SECRET, note: 'ok' }, inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4], parameters: { password: SECRET } }] };
    const headers = { authorization: BEARER, 'x-request-id': 'secret-test' };
    assert.equal((await postJson(`${srv.http}/v2/models/plain/infer`, body, headers)).status, 200);
    assert.equal((await postJson(`${srv.http}/v2/models/logged/infer`, body, headers)).status, 200);
    const bad = { inputs: [{ name: SECRET, datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }] };
    assert.equal((await postJson(`${srv.http}/v2/models/plain/infer`, bad, headers)).status, 400);
    assert.equal((await postJson(`${srv.http}/v2/models/${SECRET}/infer`, bad, headers)).status, 404);
    await srv.waitForLog((l) => l.msg === 'request' && l.reqId === 'secret-test' && l.model === 'logged');
    // The payload file gets the request and response, redacted.
    for (let i = 0; i < 100 && !(existsSync(payloadFile()) && readFileSync(payloadFile(), 'utf8').trim().split('\n').length >= 2); i++) await new Promise((r) => setTimeout(r, 50));
    const events = readFileSync(payloadFile(), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
    const types = events.filter((e) => e.id === 'secret-test').map((e) => e.type).sort();
    assert.deepEqual(types, ['org.kubeflow.serving.inference.request', 'org.kubeflow.serving.inference.response']);
    const req = events.find((e) => e.type.endsWith('.request'))!;
    assert.equal(req.data.parameters.api_key, '[redacted]');
    assert.equal(req.data.inputs[0].parameters.password, '[redacted]');
    assert.equal(req.data.parameters.note, 'ok');
    assert.equal(req.inferenceservicename, 'logged');
    assert.equal(req.endpoint, 'logged-predictor-00001');
    const file = readFileSync(payloadFile(), 'utf8');
    assert.ok(!file.includes('supersecret'), 'no Authorization in the payload log');
    // `id` is not a secret-looking key, so it is kept in the payload log (it is the user's own request id); the main log never has bodies.
    await new Promise((r) => setTimeout(r, 200));
    const logText = srv.logs.map((l) => JSON.stringify(l)).join('\n');
    assert.ok(!logText.includes(SECRET), 'no body content in the logs');
    assert.ok(!logText.includes('supersecret'), 'no Authorization header in the logs');
  });

  it('GET /apis/inferd.dev/v1/top and `inferd top --once`', async () => {
    const top = (await (await fetch(`${srv.http}/apis/inferd.dev/v1/top`)).json()) as { windowSeconds: number; models: Array<Record<string, any>> };
    assert.equal(top.windowSeconds, 60);
    const plain = top.models.find((m) => m.model === 'plain')!;
    assert.ok(plain.requests >= 10);
    assert.ok(plain.rps > 0);
    assert.ok(plain.p50 > 0 && plain.p50 <= plain.p95 && plain.p95 <= plain.p99);
    assert.ok(plain.errors >= 2);
    assert.ok(plain.memoryBytes > 0);
    assert.deepEqual(plain.replicas, { current: 1, desired: 1 });
    // Batch size per sample: 16 concurrent requests to the batched revision, then a sample a second later.
    await fetch(`${srv.http}/apis/inferd.dev/v1/top`);
    await new Promise((r) => setTimeout(r, 1000));
    await Promise.all(Array.from({ length: 16 }, (_, i) => postJson(`${srv.http}/v2/models/batched/infer`, row(i))));
    const later = (await (await fetch(`${srv.http}/apis/inferd.dev/v1/top`)).json()) as { models: Array<Record<string, any>> };
    const batched = later.models.find((m) => m.model === 'batched')!;
    assert.ok(batched.batchSize > 1, `mean batch size ${batched.batchSize}`);
    const r = await run(process.execPath, [join(REPO_ROOT, 'dist/src/cli/main.js'), 'top', '--once', '--server', srv.http]);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /MODEL\s+REVISION\s+STATE\s+RPS\s+P50\s+P95\s+P99/);
    assert.match(r.out, /plain\s+plain-predictor-00001\s+Loaded/);
  });

  it('a real Prometheus scrapes inferd and answers p95 latency with histogram_quantile', { skip: PROMETHEUS ? false : 'prometheus not installed (apt-get install prometheus); CI installs it', timeout: 90_000 }, async () => {
    const pdir = mkdtempSync(join(tmpdir(), 'inferd-prom-'));
    const port = await freePort();
    const target = new URL(srv.http).host;
    writeFileSync(join(pdir, 'prometheus.yml'), `global: {scrape_interval: 1s, evaluation_interval: 1s}\nscrape_configs:\n  - job_name: inferd\n    static_configs: [{targets: ['${target}']}]\n`);
    const prom = spawn(PROMETHEUS!, [`--config.file=${join(pdir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(pdir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let promErr = '';
    prom.stderr!.on('data', (c: Buffer) => (promErr = (promErr + c.toString()).slice(-4000)));
    try {
      const q = 'histogram_quantile(0.95, sum by (le) (rate(inferd_request_duration_seconds_bucket{model="plain",protocol="v2"}[20s])))';
      let result: number | undefined;
      const end = Date.now() + 60_000;
      while (Date.now() < end && result === undefined) {
        // Keep traffic flowing so the rate over the window is not empty.
        await Promise.all(Array.from({ length: 10 }, (_, i) => postJson(`${srv.http}/v2/models/plain/infer`, row(i))));
        await new Promise((r) => setTimeout(r, 500));
        const res = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(q)}`).catch(() => undefined);
        if (!res?.ok) continue;
        const body = (await res.json()) as { status: string; data: { result: Array<{ value: [number, string] }> } };
        const v = body.data.result[0]?.value[1];
        if (v !== undefined && Number.isFinite(Number(v))) result = Number(v);
      }
      assert.ok(result !== undefined, `no p95 from Prometheus; its log:\n${promErr}`);
      assert.ok(result > 0 && result < 1, `p95 = ${result}s`);
      const up = (await (await fetch(`http://127.0.0.1:${port}/api/v1/query?query=up`)).json()) as { data: { result: Array<{ value: [number, string] }> } };
      assert.equal(up.data.result[0]?.value[1], '1');
    } finally {
      prom.kill('SIGTERM');
      await new Promise((r) => prom.once('exit', r));
      rmSync(pdir, { recursive: true, force: true });
    }
  });
});
