import { z } from 'zod';

/**
 * The top-level `redis` section: one connection that every inferd replica's shared
 * state (rate-limit buckets, prediction cache) goes through. Unset `url`: no Redis,
 * everything stays in this process.
 */
export const redisSchema = z
  .strictObject({
    /** `redis://[user:pass@]host:port[/db]` or `rediss://` for TLS. */
    url: z.string().min(1).optional(),
    /** Prepended to every key, so several inferd deployments can share one Redis. */
    keyPrefix: z.string().default('inferd:'),
    /** A command that takes longer fails and the request uses local state: inference never waits long on Redis. */
    commandTimeoutMs: z.number().int().min(1).default(25),
    connectTimeoutMs: z.number().int().min(1).default(1000),
    /** Consecutive failures or timeouts that open the circuit breaker (Redis skipped). */
    failureThreshold: z.number().int().min(1).default(3),
    /** How long the breaker stays open before one probe command is let through. */
    cooldownMs: z.number().int().min(1).default(5000),
    /** Larger encoded predictions are kept in the local cache only. */
    cacheMaxValueBytes: z.number().int().min(1).default(1024 * 1024),
  })
  .prefault({});
export type RedisConfig = z.infer<typeof redisSchema>;

/** The Redis URL in effect: `redis.url`, else the older `security.rateLimits.redisUrl`. */
export function redisUrlOf(config: { redis: RedisConfig; security: { rateLimits: { redisUrl?: string | undefined } } }): string | undefined {
  return config.redis.url ?? config.security.rateLimits.redisUrl;
}
