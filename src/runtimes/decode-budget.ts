/**
 * The bytes a model file may decode into. Readers charge every structure they build
 * BEFORE allocating it, so a small hostile file (a huge declared shape, a memo reference
 * expanded a thousand times) fails its load with a clear error instead of exhausting the heap.
 */
import { InferdError } from '../api/errors.js';

/** Default of `limits.maxModelDecodedBytes`. */
export const DEFAULT_MAX_DECODED_BYTES = 1024 * 1024 * 1024;

export class DecodeBudget {
  private spent = 0;

  constructor(readonly limit: number = DEFAULT_MAX_DECODED_BYTES) {}

  /** Bytes charged so far: what the decoded model holds (temporaries included, which errs high). */
  get used(): number {
    return this.spent;
  }

  /** Reserves `bytes` for `what`, or throws before anything is allocated. */
  charge(bytes: number, what: string): void {
    if (!(bytes >= 0) || !Number.isFinite(bytes) || this.spent + bytes > this.limit) {
      const size = Number.isFinite(bytes) && bytes < 1e15 ? `${Math.ceil(bytes)} bytes` : 'an unbounded size';
      throw new InferdError('invalid_input', `model ${what} would decode to ${size}, beyond the limit of ${this.limit} bytes per model (limits.maxModelDecodedBytes)`);
    }
    this.spent += bytes;
  }
}

/** The product of non-negative integer factors, or Infinity once it passes `max` (never a wrapped or lossy value). */
export function checkedProduct(factors: readonly number[], max = Number.MAX_SAFE_INTEGER): number {
  let n = 1;
  for (const f of factors) {
    if (!Number.isSafeInteger(f) || f < 0) return Infinity;
    if (f === 0) return 0;
  }
  for (const f of factors) {
    n *= f;
    if (n > max) return Infinity;
  }
  return n;
}
