import { InferdError } from '../api/errors.js';
import type { ModelEndpoint } from './model-endpoint.js';

export interface MemoryOptions {
  /** Bytes all loaded models may hold together; undefined means no budget. */
  budgetBytes?: number;
  /** On-demand models idle this long are unloaded (scale to zero). */
  idleUnloadMs: number;
  /** Churn guard: a model stays at least this long after it loaded before it can be evicted. */
  minResidencyMs: number;
}

export interface MemoryStats {
  budgetBytes: number | null;
  usedBytes: number;
  loaded: number;
  loads: number;
  evictions: number;
  idleUnloads: number;
  loadMs: { p50: number; p99: number } | null;
}

/**
 * The ModelMesh role on one machine: on-demand models (minReplicas 0) load on
 * their first request and are unloaded least-recently-used first when a load would
 * pass the budget, or when idle. Pinned models count against the budget but are
 * never evicted, nor is any model with requests in flight.
 */
export class MemoryManager {
  private readonly endpoints = new Set<ModelEndpoint>();
  private readonly counters = { loads: 0, evictions: 0, idleUnloads: 0 };
  private readonly loadTimes: number[] = [];
  private readonly sweeper: NodeJS.Timeout;
  private loadChain: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: MemoryOptions) {
    this.sweeper = setInterval(() => this.sweepIdle(), Math.min(1000, Math.max(50, opts.idleUnloadMs / 4)));
    this.sweeper.unref();
  }

  register(ep: ModelEndpoint): void {
    this.endpoints.add(ep);
  }

  unregister(ep: ModelEndpoint): void {
    this.endpoints.delete(ep);
  }

  usedBytes(): number {
    let n = 0;
    for (const ep of this.endpoints) if (ep.state === 'Loaded') n += ep.memoryBytes();
    return n;
  }

  /** Evicts least-recently-used idle on-demand models until `needed` more bytes fit. */
  async makeRoom(forEp: ModelEndpoint, needed: number): Promise<void> {
    const budget = this.opts.budgetBytes;
    if (budget === undefined) return;
    const now = Date.now();
    const candidates = [...this.endpoints]
      .filter((e) => e !== forEp && e.onDemand && e.state === 'Loaded' && e.idle && now - e.loadedAt >= this.opts.minResidencyMs)
      .sort((a, b) => a.lastUsed - b.lastUsed);
    let used = this.usedBytes();
    const victims: ModelEndpoint[] = [];
    for (const e of candidates) {
      if (used + needed <= budget) break;
      victims.push(e);
      used -= e.memoryBytes();
    }
    if (used + needed > budget && forEp.onDemand) {
      throw new InferdError('not_ready', `memory budget full: ${forEp.name} needs ${needed} bytes and models in use hold ${used} of ${budget}; retry later`, { retryAfter: 1 });
    }
    this.counters.evictions += victims.length;
    await Promise.all(victims.map((e) => e.standby()));
  }

  /**
   * Runs on-demand loads one at a time, so a burst of first requests cannot load
   * (and evict for) many models at once.
   */
  serialize<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.loadChain.then(fn, fn);
    this.loadChain = run.catch(() => undefined);
    return run;
  }

  recordLoad(ms: number): void {
    this.counters.loads++;
    this.loadTimes.push(ms);
    if (this.loadTimes.length > 1000) this.loadTimes.shift();
  }

  private sweepIdle(): void {
    const now = Date.now();
    for (const e of this.endpoints) {
      if (e.onDemand && e.state === 'Loaded' && e.idle && now - e.lastUsed >= this.opts.idleUnloadMs) {
        this.counters.idleUnloads++;
        void e.standby();
      }
    }
  }

  stats(): MemoryStats {
    const sorted = [...this.loadTimes].sort((a, b) => a - b);
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
    return {
      budgetBytes: this.opts.budgetBytes ?? null,
      usedBytes: this.usedBytes(),
      loaded: [...this.endpoints].filter((e) => e.state === 'Loaded').length,
      ...this.counters,
      loadMs: sorted.length ? { p50: at(0.5), p99: at(0.99) } : null,
    };
  }

  close(): void {
    clearInterval(this.sweeper);
  }
}
