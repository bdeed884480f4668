/**
 * Requests, errors and latency percentiles over the last N seconds, for people
 * (`inferd top`, the admin API). The window is 12 slots; each slot counts latencies in
 * log buckets (8 per octave from 1 µs, ~9% resolution), so recording is a Math.log2
 * and two increments, and percentiles are read by merging the live slots.
 */
const SLOTS = 12;
const PER_OCTAVE = 8;
/** 1 µs .. ~2^30 µs (~18 min). */
const BUCKETS = 30 * PER_OCTAVE + 2;

interface Slot {
  id: number;
  requests: number;
  errors: number;
  hist: Uint32Array;
}

export interface WindowSnapshot {
  /** Requests per second over the window. */
  rps: number;
  requests: number;
  errors: number;
  /** Seconds; null without requests. */
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

export class SlidingWindow {
  private readonly slots: Slot[];
  private readonly slotMs: number;

  constructor(readonly windowMs: number, private readonly now: () => number = Date.now) {
    this.slotMs = windowMs / SLOTS;
    this.slots = Array.from({ length: SLOTS }, () => ({ id: -1, requests: 0, errors: 0, hist: new Uint32Array(BUCKETS) }));
  }

  static empty(windowMs: number): WindowSnapshot {
    return new SlidingWindow(windowMs).snapshot();
  }

  record(seconds: number, error: boolean): void {
    const id = Math.floor(this.now() / this.slotMs);
    const slot = this.slots[id % SLOTS]!;
    if (slot.id !== id) {
      slot.id = id;
      slot.requests = 0;
      slot.errors = 0;
      slot.hist.fill(0);
    }
    slot.requests++;
    if (error) slot.errors++;
    const us = seconds * 1e6;
    const b = us < 1 ? 0 : Math.min(BUCKETS - 1, 1 + Math.floor(Math.log2(us) * PER_OCTAVE));
    slot.hist[b]!++;
  }

  snapshot(): WindowSnapshot {
    const current = Math.floor(this.now() / this.slotMs);
    const merged = new Float64Array(BUCKETS);
    let requests = 0;
    let errors = 0;
    // The current slot is partial: the window spans SLOTS-1 full slots plus the elapsed part of this one.
    for (const s of this.slots) {
      if (s.id < 0 || s.id <= current - SLOTS || s.id > current) continue;
      requests += s.requests;
      errors += s.errors;
      for (let i = 0; i < BUCKETS; i++) merged[i]! += s.hist[i]!;
    }
    const elapsedMs = (SLOTS - 1) * this.slotMs + (this.now() - current * this.slotMs);
    const q = (p: number): number | null => {
      if (requests === 0) return null;
      const rank = Math.ceil(p * requests);
      let acc = 0;
      for (let i = 0; i < BUCKETS; i++) {
        acc += merged[i]!;
        if (acc >= rank) return i === 0 ? 0.5e-6 : 2 ** ((i - 1 + 0.5) / PER_OCTAVE) / 1e6;
      }
      return null;
    };
    return { rps: requests / (elapsedMs / 1000), requests, errors, p50: q(0.5), p95: q(0.95), p99: q(0.99) };
  }
}
