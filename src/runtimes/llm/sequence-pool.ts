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
 * request that starts with the same prefix reuses them.
 */
export class SequencePool<S> {
  private readonly free: S[] = [];
  private readonly waiters: Array<Waiter<S>> = [];
  private closed = false;

  constructor(sequences: S[], private readonly maxQueue: number) {
    this.free.push(...sequences);
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
    const seq = this.free.pop();
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
      this.free.push(seq);
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
