import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { REPO_ROOT, startInferd, waitReady, type InferdProcess } from '../helpers/inferd-process.js';
import { postJson } from '../helpers/fixtures.js';
import { hasRedis, startRedis, type RedisProcess } from '../security/redis-server.js';

const MODEL = `file://${join(REPO_ROOT, 'test/fixtures/xgboost/binary_logistic')}`;
const BURST = 10;

/** The one value of a metric family's sample whose labels include all of `labels` (0 when absent). */
async function metric(srv: InferdProcess, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${srv.http}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || !/^[\w]+(\{|\s)/.test(line) || line.split(/[{\s]/)[0] !== name) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

const infer = (srv: InferdProcess, model: string, row: number[]) =>
  postJson(`${srv.http}/v2/models/${model}/infer`, { inputs: [{ name: 'input-0', datatype: 'FP32', shape: [1, row.length], data: row }] });

describe('several inferd processes sharing one real redis-server', { skip: !hasRedis() && 'redis-server not installed' }, () => {
  let redis: RedisProcess;
  let procs: InferdProcess[] = [];
  let inputName = 'input-0';

  before(async () => {
    redis = await startRedis();
    const dir = mkdtempSync(join(tmpdir(), 'inferd-redis-'));
    writeFileSync(join(dir, 'inferd.yaml'), `redis:\n  url: ${redis.url}\n  keyPrefix: "e2e:"\n  commandTimeoutMs: 250\n  failureThreshold: 2\n  cooldownMs: 300\n`);
    writeFileSync(join(dir, 'models.yaml'), `apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata: {name: limited, annotations: {inferd.dev/rate-limit-rps: "0.001", inferd.dev/rate-limit-burst: "${BURST}"}}
spec: {predictor: {model: {modelFormat: {name: xgboost}, storageUri: "${MODEL}"}}}
---
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata: {name: cached, annotations: {inferd.dev/prediction-cache: "true"}}
spec: {predictor: {model: {modelFormat: {name: xgboost}, storageUri: "${MODEL}"}}}
`);
    procs = await Promise.all([0, 1, 2].map(() => startInferd(['--config', join(dir, 'inferd.yaml'), '-f', join(dir, 'models.yaml'), '--no-watch'])));
    await Promise.all(procs.map((p) => waitReady(p.http)));
    const meta = (await (await fetch(`${procs[0]!.http}/v2/models/cached`)).json()) as { inputs: Array<{ name: string }> };
    inputName = meta.inputs[0]!.name;
    assert.equal(inputName, 'input-0');
  });
  after(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await redis?.stop();
  });

  it('enforces one rate limit across all processes, at one Redis round-trip per request', async () => {
    const before = await metric(procs[1]!, 'inferd_redis_commands_total', { op: 'take' });
    const statuses: number[] = [];
    for (let i = 0; i < 3 * BURST; i++) statuses.push((await infer(procs[i % 3]!, 'limited', [i, 1, 2, 3, 4, 5])).status);
    assert.equal(statuses.filter((s) => s === 200).length, BURST, `accepted across 3 processes: ${statuses.join(',')}`);
    assert.deepEqual(statuses.slice(BURST), new Array(2 * BURST).fill(429), 'every process refuses once the shared bucket is empty');
    for (const p of procs) assert.equal((await infer(p, 'limited', [1, 1, 1, 1, 1, 1])).status, 429);
    // procs[1] answered requests 1, 4, 7, ... (10 of the 30) plus one more.
    assert.equal((await metric(procs[1]!, 'inferd_redis_commands_total', { op: 'take' })) - before, BURST + 1, 'one EVALSHA per rate-limited request');
  });

  it("answers from another process's cached prediction (one Redis GET), keyed by revision", async () => {
    const row = [0.25, -1, 3, 0.5, 2, -0.75];
    const a = await infer(procs[0]!, 'cached', row);
    assert.equal(a.status, 200, JSON.stringify(a.body));
    // A writes the entry after answering (never making the client wait for Redis): wait until it is there.
    const probe = new Redis(redis.url);
    let keys: string[] = [];
    for (let i = 0; i < 100 && keys.length === 0; i++) {
      keys = await probe.keys('e2e:pc:*');
      if (keys.length === 0) await new Promise((r) => setTimeout(r, 20));
    }
    await probe.quit();
    assert.equal(keys.length, 1);
    assert.match(keys[0]!, /^e2e:pc:default\/cached\/cached-predictor-00001\/[0-9a-f]{16}:/, 'key = namespace/model/revision/spec hash + input hash');

    const getsBefore = await metric(procs[1]!, 'inferd_redis_commands_total', { op: 'get' });
    const b = await infer(procs[1]!, 'cached', row);
    assert.equal(b.status, 200);
    assert.deepEqual(b.body.outputs, a.body.outputs, 'the same prediction');
    assert.equal(await metric(procs[1]!, 'inferd_cache_shared_hits_total', { model: 'cached' }), 1, "B served A's entry");
    assert.equal(await metric(procs[1]!, 'inferd_cache_misses_total', { model: 'cached' }), 0, 'B never called its model');
    assert.equal((await metric(procs[1]!, 'inferd_redis_commands_total', { op: 'get' })) - getsBefore, 1, 'a shared hit costs one GET');
    const again = await infer(procs[1]!, 'cached', row);
    assert.deepEqual(again.body.outputs, a.body.outputs);
    assert.equal((await metric(procs[1]!, 'inferd_redis_commands_total', { op: 'get' })) - getsBefore, 1, 'then the local cache answers: no Redis call');
    assert.equal(await metric(procs[1]!, 'inferd_cache_hits_total', { model: 'cached' }), 2);
  });

  it('keeps answering when redis-server is killed, shows it in /metrics, and recovers when it returns', async () => {
    for (const p of procs) assert.equal(await metric(p, 'inferd_redis_up'), 1);
    const port = redis.port;
    redis.child.kill('SIGKILL');
    await new Promise<void>((r) => (redis.child.exitCode !== null || redis.child.signalCode !== null ? r() : redis.child.once('exit', () => r())));
    for (const [i, p] of procs.entries()) {
      for (let j = 0; j < 5; j++) {
        assert.equal((await infer(p, 'cached', [i, j, 9, 9, 9, 9])).status, 200, 'inference answers without Redis');
        assert.equal((await infer(p, 'limited', [i, j, 8, 8, 8, 8])).status, 200, 'rate limit falls back to a fresh local bucket');
      }
      assert.equal(await metric(p, 'inferd_redis_up'), 0);
      assert.ok((await metric(p, 'inferd_redis_fallbacks_total', { feature: 'rate_limit' })) > 0);
      assert.ok((await metric(p, 'inferd_redis_fallbacks_total', { feature: 'prediction_cache' })) > 0);
      assert.ok((await metric(p, 'inferd_redis_errors_total')) > 0);
      const warnings = p.logs.filter((l) => typeof l.msg === 'string' && /Redis failing/.test(l.msg));
      assert.equal(warnings.length, 1, 'one warning when the breaker opens, not one per request');
    }

    redis = await startRedis(port);
    for (const p of procs) {
      let up = 0;
      for (let i = 0; i < 200 && up !== 1; i++) {
        assert.equal((await infer(p, 'cached', [7, 7, 7, 7, 7, i])).status, 200);
        up = await metric(p, 'inferd_redis_up');
        if (up !== 1) await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(up, 1, 'the half-open probe succeeds once Redis is back');
      assert.ok(p.logs.some((l) => typeof l.msg === 'string' && /Redis answering again/.test(l.msg)));
    }
  });
});
