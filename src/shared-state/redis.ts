import { Redis } from 'ioredis';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from '../observability/logger.js';
import { CircuitBreaker, type BreakerState } from './circuit-breaker.js';
import type { RedisConfig } from './redis-config.js';

/** What uses Redis; each falls back to this process's own state when Redis cannot answer. */
export type SharedFeature = 'rate_limit' | 'prediction_cache';

/**
 * The one Redis connection of an inferd process, shared by rate limiting and the
 * prediction cache. Every command has a deadline (`commandTimeoutMs`) and goes through a
 * circuit breaker: a slow or dead Redis turns into "use local state" within a few
 * milliseconds, then into no Redis calls at all until a probe succeeds again.
 * State changes are logged once each; the rest is in the `inferd_redis_*` metrics.
 */
export class SharedRedis {
  readonly client: Redis;
  readonly prefix: string;
  private readonly breaker: CircuitBreaker;
  private readonly errors?: Counter<'op'>;
  private readonly fallbacks?: Counter<'feature'>;
  private readonly commands?: Counter<'op'>;

  constructor(url: string, readonly cfg: RedisConfig, private readonly log: Logger, registry?: Registry) {
    this.prefix = cfg.keyPrefix;
    this.client = new Redis(url, {
      lazyConnect: true,
      // Fail at once while disconnected instead of queueing: a queued command would hold its request.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: cfg.commandTimeoutMs,
      connectTimeout: cfg.connectTimeoutMs,
      retryStrategy: (times) => Math.min(100 * times, 2000),
    });
    // Connection errors repeat on every reconnect attempt; the breaker's state change is what gets logged.
    this.client.on('error', () => undefined);
    this.breaker = new CircuitBreaker(cfg, (to, from) => this.changed(to, from));
    if (registry) {
      const isUp = () => this.up;
      new Gauge({ name: 'inferd_redis_up', help: 'Whether shared state goes through Redis (1) or this process falls back to local state (0).', registers: [registry], collect() { this.set(isUp() ? 1 : 0); } });
      this.errors = new Counter({ name: 'inferd_redis_errors_total', help: 'Redis commands that failed or exceeded redis.commandTimeoutMs, by operation.', labelNames: ['op'], registers: [registry] });
      this.fallbacks = new Counter({ name: 'inferd_redis_fallbacks_total', help: 'Operations answered from local state because Redis failed or the circuit breaker was open, by feature.', labelNames: ['feature'], registers: [registry] });
      this.commands = new Counter({ name: 'inferd_redis_commands_total', help: 'Redis round-trips attempted, by operation.', labelNames: ['op'], registers: [registry] });
    }
  }

  /** Connects (bounded by connectTimeoutMs); an unreachable Redis is logged, never fatal. */
  async connect(): Promise<void> {
    try {
      await this.client.connect();
      this.log.info({ redis: redactUrl(this.client.options) }, 'shared state: Redis connected');
    } catch (err) {
      this.breaker.failure();
      this.log.warn({ err: (err as Error).message }, 'shared state: Redis unreachable at start; using local state until it answers');
    }
  }

  /** Redis is in use: connected and the breaker closed. */
  get up(): boolean {
    return this.breaker.state === 'closed' && this.client.status === 'ready';
  }

  /**
   * Runs one Redis operation under the breaker and deadline. Undefined means "use local
   * state" (breaker open, not connected, error or timeout), counted as a fallback of `feature`.
   */
  async run<T>(feature: SharedFeature, op: string, fn: (client: Redis) => Promise<T>): Promise<{ value: T } | undefined> {
    if (!this.breaker.allow()) {
      this.fallbacks?.inc({ feature });
      return undefined;
    }
    this.commands?.inc({ op });
    try {
      const value = await fn(this.client);
      this.breaker.success();
      return { value };
    } catch {
      this.errors?.inc({ op });
      this.breaker.failure();
      this.fallbacks?.inc({ feature });
      return undefined;
    }
  }

  private changed(to: BreakerState, from: BreakerState): void {
    if (to === 'open' && from === 'closed') this.log.warn({ redisState: to }, 'shared state: Redis failing; rate limits and prediction cache use this process\'s local state');
    else if (to === 'closed') this.log.info({ redisState: to }, 'shared state: Redis answering again; shared rate limits and prediction cache resumed');
  }

  async close(): Promise<void> {
    await this.client.quit().catch(() => this.client.disconnect());
  }
}

/** host:port/db for logs, never the password. */
function redactUrl(o: { host?: string | undefined; port?: number | undefined; db?: number | undefined }): string {
  return `${o.host ?? '?'}:${o.port ?? '?'}/${o.db ?? 0}`;
}
