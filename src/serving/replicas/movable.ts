import type { Tensor } from '../../api/inference.js';

/**
 * Buffers that one request owns alone and does not read again once its inputs leave for a
 * replica. A replica call moves (transfers) them to its worker thread rather than copying them:
 * a 1.2 MB image body leaves the main isolate at once, without the structured clone's copies
 * (main-thread CPU per image on the bench's conv row: 1.6-1.8 ms instead of 1.7-2.3).
 * Only the owner of a buffer may mark it: moving a buffer that another live view shares (a
 * pooled slab, a batch cut into parts) would empty that view.
 */
const movable = new WeakSet<ArrayBufferLike>();

export function markMovable(buffer: ArrayBufferLike): void {
  movable.add(buffer);
}

/** Withdraws a mark: the buffer is read after the answer (a payload logger logs the body). */
export function keepInPlace(buffer: ArrayBufferLike): void {
  movable.delete(buffer);
}

/** The marked buffers under these tensors, each once and no longer marked: what a replica call transfers. */
export function takeMovable(tensors: readonly Tensor[]): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  for (const t of tensors) {
    const buffer = (t.data as { buffer?: ArrayBufferLike }).buffer;
    if (buffer && movable.delete(buffer)) out.push(buffer as ArrayBuffer);
  }
  return out;
}
