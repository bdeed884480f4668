import { createHash } from 'node:crypto';
import { encodeRaw } from '../protocols/v2/binary-tensor.js';
import type { Tensor } from '../api/inference.js';

export interface CacheOptions {
  maxBytes: number;
  ttlMs: number;
}

interface Entry {
  outputs: Tensor[];
  bytes: number;
  expires: number;
}

/**
 * Per-revision prediction cache: the key is a canonical hash of the inputs (name,
 * datatype, shape, bytes) and requested outputs, so it dies with its revision.
 * Bounded by bytes with LRU eviction (Map order is recency) and a TTL.
 */
export class PredictionCache {
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;
  hits = 0;
  misses = 0;

  constructor(private readonly opts: CacheOptions) {}

  static key(inputs: readonly Tensor[], outputNames: readonly string[]): string {
    const h = createHash('sha256');
    for (const t of [...inputs].sort((a, b) => (a.name < b.name ? -1 : 1))) {
      h.update(`${t.name}\0${t.datatype}\0${t.shape.join(',')}\0`);
      h.update(encodeRaw(t.datatype, t.data));
    }
    h.update(outputNames.join('\0'));
    return h.digest('base64');
  }

  get(key: string): Tensor[] | undefined {
    const e = this.entries.get(key);
    if (!e || e.expires < Date.now()) {
      if (e) this.remove(key, e);
      this.misses++;
      return undefined;
    }
    this.entries.delete(key);
    this.entries.set(key, e);
    this.hits++;
    return e.outputs;
  }

  set(key: string, outputs: Tensor[]): void {
    const bytes = outputs.reduce((n, t) => n + encodeRaw(t.datatype, t.data).byteLength + 64, 0);
    if (bytes > this.opts.maxBytes) return;
    const old = this.entries.get(key);
    if (old) this.remove(key, old);
    this.entries.set(key, { outputs, bytes, expires: Date.now() + this.opts.ttlMs });
    this.bytes += bytes;
    for (const [k, e] of this.entries) {
      if (this.bytes <= this.opts.maxBytes) break;
      this.remove(k, e);
    }
  }

  private remove(key: string, e: Entry): void {
    this.entries.delete(key);
    this.bytes -= e.bytes;
  }

  stats(): { cacheHits: number; cacheMisses: number; cacheBytes: number; cacheEntries: number } {
    return { cacheHits: this.hits, cacheMisses: this.misses, cacheBytes: this.bytes, cacheEntries: this.entries.size };
  }
}
