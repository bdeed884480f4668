import assert from 'node:assert/strict';
import { describe, it, after } from 'node:test';
import { MemoryBuckets, RedisBuckets } from '../../src/security/rate-limit.js';
import { createLogger } from '../../src/observability/logger.js';
import { SharedRedis } from '../../src/shared-state/redis.js';
import { redisSchema } from '../../src/shared-state/redis-config.js';
import { startRedis, type RedisProcess } from './redis-server.js';

describe('token buckets', () => {
  it('allows a burst, refuses beyond it with Retry-After, and refills at the rate', () => {
    let now = 0;
    const b = new MemoryBuckets(() => now);
    const cfg = { rps: 2, burst: 3 };
    const takes = Array.from({ length: 4 }, () => b.takeSync('k', cfg));
    assert.deepEqual(takes.map((t) => t.allowed), [true, true, true, false]);
    assert.equal(takes[3]!.retryAfterSeconds, 1);
    assert.equal(takes[2]!.remaining, 0);
    assert.equal(takes[0]!.limit, 3);
    assert.equal(b.takeSync('other', cfg).allowed, true, 'other keys are unaffected');
    now += 500; // one token back at 2/s
    assert.equal(b.takeSync('k', cfg).allowed, true);
    assert.equal(b.takeSync('k', cfg).allowed, false);
    now += 10_000;
    assert.equal(b.takeSync('k', cfg).remaining, 2, 'refills to the burst, no more');
    void b.close();
  });

  it('costs several tokens at once (LLM tokens per minute)', () => {
    const b = new MemoryBuckets(() => 0);
    const cfg = { rps: 100 / 60, burst: 100 };
    assert.equal(b.takeSync('t', cfg, 80).allowed, true);
    const r = b.takeSync('t', cfg, 30);
    assert.equal(r.allowed, false);
    assert.equal(r.retryAfterSeconds, 6); // 10 tokens at 100/min
    void b.close();
  });
});

describe('token buckets in Redis', () => {
  let redis: RedisProcess | undefined;
  after(async () => redis?.stop());

  it('shares one bucket between two clients atomically', async (t) => {
    redis = await startRedis().catch(() => undefined);
    if (!redis) return t.skip('redis-server not installed');
    const log = createLogger('silent');
    const rcfg = redisSchema.parse({ keyPrefix: 'test:', commandTimeoutMs: 1000 });
    const ra = new SharedRedis(redis.url, rcfg, log);
    const rb = new SharedRedis(redis.url, rcfg, log);
    await Promise.all([ra.connect(), rb.connect()]);
    const a = new RedisBuckets(ra);
    const b = new RedisBuckets(rb);
    const cfg = { rps: 0.1, burst: 10 };
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 ? a : b).take('shared', cfg)));
    assert.equal(results.filter((r) => r.allowed).length, 10);
    const refused = results.find((r) => !r.allowed)!;
    assert.ok(refused.retryAfterSeconds >= 1 && refused.retryAfterSeconds <= 10);
    assert.equal((await a.take('another', cfg)).allowed, true);
    await a.close();
    await b.close();
    await ra.close();
    await rb.close();
  });

  it('falls back to local buckets when Redis is unreachable', async () => {
    const log = createLogger('silent');
    const rr = new SharedRedis('redis://127.0.0.1:1', redisSchema.parse({ keyPrefix: 'test:' }), log);
    await rr.connect();
    const c = new RedisBuckets(rr);
    const r = await c.take('x', { rps: 1, burst: 1 });
    assert.equal(r.allowed, true);
    assert.equal((await c.take('x', { rps: 1, burst: 1 })).allowed, false);
    await c.close();
    await rr.close();
  });
});
