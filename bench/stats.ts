/** The middle value (the upper one of an even count); NaN when empty. */
export const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

/** Percentiles over recorded latencies (ms). */
export function percentiles(samples: number[]): { p50: number; p95: number; p99: number } {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99) };
}

export interface Figures {
  rps: number;
  p50: number;
  p95: number;
  p99: number;
}

export function fmt(label: string, f: Figures, baseline?: Figures): string {
  const ratio = baseline ? `  (${((f.rps / baseline.rps) * 100).toFixed(0)}% of the HTTP floor)` : '';
  return `${label.padEnd(44)} ${f.rps.toFixed(0).padStart(8)} req/s   p50 ${f.p50.toFixed(3)} ms  p95 ${f.p95.toFixed(3)} ms  p99 ${f.p99.toFixed(3)} ms${ratio}`;
}
