import type { BatchingOptions, BatchItem, LlamaContext, PrioritizedBatchItem } from 'node-llama-cpp';

/**
 * Empty answers in a row before a partial batch goes anyway. Each costs one event-loop
 * turn (with the patched dispatch loop, patches/node-llama-cpp+*.patch: an empty batch
 * ends the lock hold and the next is scheduled with setImmediate), which is enough for a
 * sequence whose token was just sampled to queue the next; one that is not about to
 * queue (prompt still being prepared, generation just ended) costs at most this many.
 */
const MAX_HOLDS = 8;

/** The part of node-llama-cpp's internal decode queue entry read here (LlamaContext._queuedDecodes). */
interface QueuedDecode {
  tokens: unknown;
  sequenceId: number;
}

/**
 * node-llama-cpp batching options that make each evaluation step hold one token of
 * every generating sequence, in sequence-id order. Two measured causes (docs/llm.md):
 *
 * - node-llama-cpp's dispatch loop starts the next batch as soon as any sequence has
 *   queued its next token, so the sequence whose sampling finished last misses the
 *   batch and is evaluated alone: two evaluations per step instead of one. The
 *   strategy holds the batch (answers it empty) until every generating sequence has
 *   queued, at most MAX_HOLDS times in a row.
 * - node-llama-cpp keeps one KV-cache stream per sequence (llama.cpp `kv_unified =
 *   false`), and llama.cpp then puts tokens into one ubatch only while their sequence
 *   ids increase by one; a batch in queue order runs as several evaluations. Items are
 *   sorted by sequence id (node-llama-cpp does not pass it, so it is read from the
 *   context's queue, which the items mirror in order; if that ever changes, the items
 *   keep their order and only the speed is lost).
 */
export class StepBatching {
  private context?: LlamaContext;
  private generating: () => number = () => 0;
  private holds = 0;
  readonly options: BatchingOptions = {
    itemPrioritizationStrategy: ({ items, size }) => this.prioritize(items, size),
  };

  /** `generating` counts the sequences that hold a request (the pool's running count). */
  attach(context: LlamaContext, generating: () => number): void {
    this.context = context;
    this.generating = generating;
  }

  private prioritize(items: readonly BatchItem[], size: number): PrioritizedBatchItem[] {
    if (items.length < this.generating() && this.holds < MAX_HOLDS) {
      this.holds++;
      return [];
    }
    this.holds = 0;
    return fill(this.bySequence(items), size);
  }

  private bySequence(items: readonly BatchItem[]): readonly BatchItem[] {
    const queue = (this.context as unknown as { _queuedDecodes?: QueuedDecode[] } | undefined)?._queuedDecodes;
    if (!Array.isArray(queue) || queue.length !== items.length) return items;
    const ids = new Map<unknown, number>();
    for (const q of queue) ids.set(q.tokens, q.sequenceId);
    if (!items.every((i) => ids.has(i.tokens))) return items;
    return [...items].sort((a, b) => ids.get(a.tokens)! - ids.get(b.tokens)!);
  }
}

/** node-llama-cpp's "maximum parallelism" share, in the given order: an equal share of the batch each, then what is left in order. */
export function fill(items: readonly BatchItem[], size: number): PrioritizedBatchItem[] {
  const out: PrioritizedBatchItem[] = [];
  const share = Math.max(1, Math.floor(size / Math.max(1, items.length)));
  let left = size;
  for (const item of items) {
    const n = Math.min(item.tokens.length, share, left);
    if (n <= 0) break;
    out.push({ item, processAmount: n });
    left -= n;
  }
  for (const p of out) {
    if (left <= 0) break;
    const more = Math.min(p.item.tokens.length - p.processAmount, left);
    p.processAmount += more;
    left -= more;
  }
  return out;
}
