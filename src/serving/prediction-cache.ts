import { createHash } from 'node:crypto';
import { encodeRaw } from '../protocols/v2/binary-tensor.js';
import type { Tensor } from '../api/inference.js';

export interface CacheOptions {
  maxBytes: number;
  ttlMs: number;
  /** Shared second level (Redis), consulted on a local miss and filled after each computation. */
  shared?: SharedCache;
}

/** A cache shared between processes: misses and failures are both `undefined`, never an error. */
export interface SharedCache {
  get(key: string): Promise<Tensor[] | undefined>;
  set(key: string, outputs: Tensor[], ttlMs: number): void;
}

interface Entry {
  outputs: Tensor[];
  bytes: number;
  expires: number;
}

/**
 * Per-revision prediction cache: the key is a canonical hash of the inputs (name,
 * datatype, shape, bytes) and requested outputs, so it dies with its revision.
 * Bounded by bytes with LRU eviction (Map order is recency) and a TTL. With a shared
 * level configured, a local miss asks it before the model is called.
 */
export class PredictionCache {
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;
  /** Requests answered from the cache (either level); `sharedHits` of them from the shared level. */
  hits = 0;
  misses = 0;
  sharedHits = 0;

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

  /** The local level, then the shared one (whose answer is kept locally); counts hits and misses. */
  async lookup(key: string): Promise<Tensor[] | undefined> {
    let outputs = this.get(key);
    if (!outputs && this.opts.shared) {
      outputs = await this.opts.shared.get(key);
      if (outputs) {
        this.sharedHits++;
        this.set(key, outputs);
      }
    }
    if (outputs) this.hits++;
    else this.misses++;
    return outputs;
  }

  /** A freshly computed prediction, for both levels. */
  store(key: string, outputs: Tensor[]): void {
    this.set(key, outputs);
    this.opts.shared?.set(key, outputs, this.opts.ttlMs);
  }

  private get(key: string): Tensor[] | undefined {
    const e = this.entries.get(key);
    if (!e || e.expires < Date.now()) {
      if (e) this.remove(key, e);
      return undefined;
    }
    this.entries.delete(key);
    this.entries.set(key, e);
    return e.outputs;
  }

  private set(key: string, outputs: Tensor[]): void {
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

  stats(): { cacheHits: number; cacheMisses: number; cacheSharedHits: number; cacheBytes: number; cacheEntries: number } {
    return { cacheHits: this.hits, cacheMisses: this.misses, cacheSharedHits: this.sharedHits, cacheBytes: this.bytes, cacheEntries: this.entries.size };
  }
}
