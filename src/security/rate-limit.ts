import type { SharedRedis } from '../shared-state/redis.js';
import type { BucketConfig } from './security-config.js';

export interface TakeResult {
  allowed: boolean;
  /** Bucket size (RateLimit-Limit). */
  limit: number;
  /** Whole tokens left after this request (RateLimit-Remaining). */
  remaining: number;
  /** Seconds until the bucket is full again (RateLimit-Reset). */
  resetSeconds: number;
  /** Seconds until one more request would pass (Retry-After), 0 when allowed. */
  retryAfterSeconds: number;
}

export interface BucketStore {
  take(key: string, bucket: BucketConfig, cost?: number): Promise<TakeResult>;
  close(): Promise<void>;
}

function result(allowed: boolean, tokens: number, waitMs: number, b: BucketConfig): TakeResult {
  return {
    allowed,
    limit: b.burst,
    remaining: Math.max(0, Math.floor(tokens)),
    resetSeconds: Math.max(0, Math.ceil((b.burst - tokens) / b.rps)),
    retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil(waitMs / 1000)),
  };
}

/** Token buckets in this process's memory; idle full buckets are dropped. */
export class MemoryBuckets implements BucketStore {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly sweep: NodeJS.Timeout;

  constructor(private readonly now: () => number = () => performance.now()) {
    this.sweep = setInterval(() => this.gc(), 30_000).unref();
  }

  take(key: string, b: BucketConfig, cost = 1): Promise<TakeResult> {
    return Promise.resolve(this.takeSync(key, b, cost));
  }

  takeSync(key: string, b: BucketConfig, cost = 1): TakeResult {
    const now = this.now();
    const s = this.buckets.get(key) ?? { tokens: b.burst, at: now };
    s.tokens = Math.min(b.burst, s.tokens + ((now - s.at) / 1000) * b.rps);
    s.at = now;
    let allowed = false;
    let waitMs = 0;
    if (s.tokens >= cost) {
      s.tokens -= cost;
      allowed = true;
    } else waitMs = ((cost - s.tokens) / b.rps) * 1000;
    this.buckets.set(key, s);
    return result(allowed, s.tokens, waitMs, b);
  }

  private gc(): void {
    const now = this.now();
    for (const [k, s] of this.buckets) if (now - s.at > 600_000) this.buckets.delete(k);
  }

  close(): Promise<void> {
    clearInterval(this.sweep);
    return Promise.resolve();
  }
}

/**
 * One token bucket, refilled and taken in one Lua script so concurrent replicas never
 * race; the clock is Redis's own (TIME) so replicas' clocks do not matter.
 */
export const TAKE_LUA = `
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1])
local ts = tonumber(b[2])
if tokens == nil or ts == nil then tokens = burst; ts = now end
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate / 1000)
local allowed = 0
local wait = 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
else
  wait = math.ceil((cost - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return {allowed, tostring(tokens), wait}
`;

type TakeCommand = (key: string, rps: number, burst: number, cost: number) => Promise<[number, string, number]>;

/**
 * Buckets shared through the process's Redis connection: one round-trip (EVALSHA) per
 * bucket taken. While Redis fails or its circuit breaker is open, this process's own
 * buckets answer, so a limit is per process then rather than shared.
 */
export class RedisBuckets implements BucketStore {
  private readonly fallback = new MemoryBuckets();
  private readonly prefix: string;

  constructor(private readonly redis: SharedRedis) {
    this.prefix = `${redis.prefix}rl:`;
    redis.client.defineCommand('inferdTake', { numberOfKeys: 1, lua: TAKE_LUA });
  }

  async take(key: string, b: BucketConfig, cost = 1): Promise<TakeResult> {
    const r = await this.redis.run('rate_limit', 'take', (c) => (c as unknown as { inferdTake: TakeCommand }).inferdTake(this.prefix + key, b.rps, b.burst, cost));
    if (!r) return this.fallback.take(key, b, cost);
    const [allowed, tokens, wait] = r.value;
    return result(allowed === 1, Number(tokens), Number(wait), b);
  }

  /** The Redis connection is the server's; only the local buckets are this store's. */
  close(): Promise<void> {
    return this.fallback.close();
  }
}
