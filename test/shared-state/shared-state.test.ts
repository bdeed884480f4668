import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { createLogger } from '../../src/observability/logger.js';
import { CircuitBreaker, type BreakerState } from '../../src/shared-state/circuit-breaker.js';
import { SharedRedis } from '../../src/shared-state/redis.js';
import { redisSchema } from '../../src/shared-state/redis-config.js';
import { decodeOutputs, encodeOutputs, SharedPredictionStore } from '../../src/shared-state/shared-prediction-cache.js';
import { startRedis, type RedisProcess } from '../security/redis-server.js';
import type { Tensor } from '../../src/api/inference.js';

describe('circuit breaker', () => {
  it('opens after N failures, lets one probe through after the cool-down, closes on its success', () => {
    let now = 0;
    const changes: BreakerState[] = [];
    const b = new CircuitBreaker({ failureThreshold: 3, cooldownMs: 1000 }, (to) => changes.push(to), () => now);
    b.failure();
    b.failure();
    b.success();
    b.failure();
    b.failure();
    assert.equal(b.state, 'closed', 'failures must be consecutive');
    b.failure();
    assert.equal(b.state, 'open');
    assert.equal(b.allow(), false);
    now = 1000;
    assert.equal(b.allow(), true, 'one probe');
    assert.equal(b.allow(), false, 'only one probe at a time');
    b.failure();
    assert.equal(b.state, 'open', 'a failed probe reopens');
    now = 1500;
    assert.equal(b.allow(), false, 'for a whole new cool-down');
    now = 2000;
    assert.equal(b.allow(), true);
    b.success();
    assert.equal(b.state, 'closed');
    assert.deepEqual(changes, ['open', 'half-open', 'open', 'half-open', 'closed']);
  });
});

describe('shared prediction encoding', () => {
  it('round-trips numeric and BYTES tensors with their shapes', () => {
    const outputs: Tensor[] = [
      { name: 'p', datatype: 'FP32', shape: [2, 2], data: new Float32Array([0.5, 1.5, -2, 3.25]) },
      { name: 'label', datatype: 'BYTES', shape: [2], data: [new TextEncoder().encode('cat'), new Uint8Array(0)] },
      { name: 'i', datatype: 'INT64', shape: [1], data: new BigInt64Array([-7n]) },
    ];
    const back = decodeOutputs(encodeOutputs(outputs));
    assert.deepEqual(back.map((t) => [t.name, t.datatype, t.shape]), outputs.map((t) => [t.name, t.datatype, t.shape]));
    assert.deepEqual([...(back[0]!.data as Float32Array)], [0.5, 1.5, -2, 3.25]);
    assert.deepEqual((back[1]!.data as Uint8Array[]).map((b) => new TextDecoder().decode(b)), ['cat', '']);
    assert.deepEqual([...(back[2]!.data as BigInt64Array)], [-7n]);
  });
});

describe('SharedRedis against a real redis-server', () => {
  let redis: RedisProcess | undefined;
  after(async () => redis?.stop());

  it('shares predictions by scope, never across scopes, and falls back when Redis dies', async (t) => {
    redis = await startRedis().catch(() => undefined);
    if (!redis) return t.skip('redis-server not installed');
    const registry = new Registry();
    const cfg = redisSchema.parse({ keyPrefix: 'unit:', failureThreshold: 2, cooldownMs: 60_000, commandTimeoutMs: 500 });
    const shared = new SharedRedis(redis.url, cfg, createLogger('silent'), registry);
    await shared.connect();
    const store = new SharedPredictionStore(shared, 1024);
    const a = store.scoped('ns/m/m-predictor-00001/abc');
    const b = store.scoped('ns/m/m-predictor-00002/def');
    a.set('k', [{ name: 'y', datatype: 'FP64', shape: [1], data: new Float64Array([42]) }], 10_000);
    a.set('big', [{ name: 'y', datatype: 'FP64', shape: [200], data: new Float64Array(200) }], 10_000);
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual([...((await a.get('k'))![0]!.data as Float64Array)], [42]);
    assert.equal(await b.get('k'), undefined, 'another revision never sees the entry');
    assert.equal(await a.get('big'), undefined, 'values over cacheMaxValueBytes stay local');
    assert.match(await registry.metrics(), /inferd_redis_up 1/);

    await redis.stop();
    for (let i = 0; i < 4; i++) assert.equal(await a.get('k'), undefined, 'a dead Redis is a miss, not an error');
    const text = await registry.metrics();
    assert.match(text, /inferd_redis_up 0/);
    assert.match(text, /inferd_redis_fallbacks_total\{feature="prediction_cache"\} 4/);
    assert.match(text, /inferd_redis_errors_total\{op="get"\} 2/, 'the breaker opened after 2 failures: no more Redis calls');
    await shared.close();
  });
});
