import { InferdError } from '../../api/errors.js';

interface Waiter<S> {
  resolve(seq: S): void;
  reject(err: unknown): void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

/**
 * Hands the context's sequences to requests: at most `sequences` generate at once
 * (their tokens share each evaluation batch, so requests join and leave between
 * steps: continuous batching), the rest wait FIFO in a bounded queue; a full queue
 * is a 429 with Retry-After. A released sequence keeps its tokens, so the next
 * request that starts with the same prefix reuses them. A request gets the free
 * sequence that comes first in the constructor's order, so the busy ones stay
 * contiguous: llama.cpp evaluates a run of consecutive sequence ids in one ubatch
 * (see step-batching.ts).
 */
export class SequencePool<S> {
  private readonly free: S[] = [];
  private readonly rank = new Map<S, number>();
  private readonly waiters: Array<Waiter<S>> = [];
  private closed = false;

  constructor(sequences: S[], private readonly maxQueue: number) {
    this.free.push(...sequences);
    sequences.forEach((s, i) => this.rank.set(s, i));
  }

  get waiting(): number {
    return this.waiters.length;
  }

  get available(): number {
    return this.free.length;
  }

  acquire(signal?: AbortSignal): Promise<S> {
    if (this.closed) return Promise.reject(new InferdError('not_ready', 'model is unloading', { retryAfter: 1 }));
    if (signal?.aborted) return Promise.reject(new InferdError('timeout', 'request cancelled before it started'));
    const seq = this.free.shift();
    if (seq !== undefined) return Promise.resolve(seq);
    if (this.waiters.length >= this.maxQueue) {
      return Promise.reject(new InferdError('overloaded', `server is overloaded: ${this.maxQueue} requests already wait for a sequence; retry later`, { retryAfter: 1 }));
    }
    return new Promise<S>((resolve, reject) => {
      const w: Waiter<S> = { resolve, reject };
      if (signal) {
        w.signal = signal;
        w.onAbort = () => {
          const i = this.waiters.indexOf(w);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(new InferdError('timeout', 'request cancelled while waiting'));
        };
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
      this.waiters.push(w);
    });
  }

  release(seq: S): void {
    const w = this.waiters.shift();
    if (!w) {
      const r = this.rank.get(seq)!;
      const at = this.free.findIndex((f) => this.rank.get(f)! > r);
      this.free.splice(at < 0 ? this.free.length : at, 0, seq);
      return;
    }
    if (w.onAbort) w.signal?.removeEventListener('abort', w.onAbort);
    w.resolve(seq);
  }

  close(): void {
    this.closed = true;
    for (const w of this.waiters.splice(0)) w.reject(new InferdError('not_ready', 'model is unloading', { retryAfter: 1 }));
  }
}
