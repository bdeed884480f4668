import type { MemoryManager } from '../../serving/memory-manager.js';
import type { ModelEndpoint } from '../../serving/model-endpoint.js';
import type { ModelRouter } from '../../serving/model-router.js';

export interface HistoryEntry {
  time: string;
  kind: 'load' | 'unload' | 'evict';
  namespace: string;
  name: string;
  revision: string;
  bytes?: number;
  reason?: string;
}

/** Every endpoint that takes or may take traffic: each model's main one plus its traffic split. */
export function routedEndpoints(router: ModelRouter): ModelEndpoint[] {
  const seen = new Set<ModelEndpoint>();
  for (const main of router.list()) {
    seen.add(main);
    for (const t of router.traffic(main.namespace, main.name)) seen.add(t.endpoint);
  }
  return [...seen];
}

/**
 * Loads, unloads and evictions for the dashboard's memory page, in a bounded ring.
 * Found by comparing endpoint states once per `sample()` (the dashboard sampler's 1 s
 * tick) rather than by hooks in the serving code: a load and unload within one
 * second are missed, which a timeline of minutes does not need. Loaded → Standby
 * counts as an eviction when the memory manager's eviction counter moved in the
 * same tick (budget pressure), else as an idle unload.
 */
export class LoadHistory {
  private readonly ring: HistoryEntry[] = [];
  private readonly last = new Map<ModelEndpoint, { state: string; bytes: number }>();
  private evictions: number;

  constructor(private readonly router: ModelRouter, private readonly memory: MemoryManager, private readonly size = 200) {
    this.evictions = memory.stats().evictions;
    this.sample();
  }

  /** The last `size` entries, oldest first. */
  entries(): HistoryEntry[] {
    return [...this.ring];
  }

  sample(): void {
    const now = new Date().toISOString();
    const evictions = this.memory.stats().evictions;
    const evicted = evictions > this.evictions;
    this.evictions = evictions;
    const seen = new Set<ModelEndpoint>();
    for (const ep of routedEndpoints(this.router)) {
      seen.add(ep);
      const before = this.last.get(ep);
      const bytes = ep.state === 'Loaded' ? ep.memoryBytes() : before?.bytes ?? 0;
      this.last.set(ep, { state: ep.state, bytes });
      if (before?.state === ep.state) continue;
      if (ep.state === 'Loaded') this.push({ time: now, kind: 'load', ...this.ref(ep), bytes });
      else if (before?.state === 'Loaded') this.push({ time: now, kind: evicted && ep.state === 'Standby' ? 'evict' : 'unload', ...this.ref(ep), bytes: before.bytes, reason: ep.state === 'Standby' ? (evicted ? 'memory budget' : 'idle') : ep.state });
    }
    for (const [ep, was] of this.last) {
      if (seen.has(ep)) continue;
      this.last.delete(ep);
      if (was.state === 'Loaded') this.push({ time: now, kind: 'unload', ...this.ref(ep), bytes: was.bytes, reason: 'no longer routed (new revision or deleted)' });
    }
  }

  private ref(ep: ModelEndpoint): Pick<HistoryEntry, 'namespace' | 'name' | 'revision'> {
    return { namespace: ep.namespace, name: ep.name, revision: ep.revisionName };
  }

  private push(e: HistoryEntry): void {
    this.ring.push(e);
    if (this.ring.length > this.size) this.ring.splice(0, this.ring.length - this.size);
  }
}
