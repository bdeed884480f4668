import type { ModelEndpoint } from './model-endpoint.js';

/** One revision's share of an InferenceService's traffic, as in KServe's `status.traffic[]`. */
export interface TrafficTarget {
  endpoint: ModelEndpoint;
  percent: number;
  /** `latest` or `prev` (canaryTrafficPercent rollouts), or the canary entry's name. */
  tag?: string;
}

/** How one request asks to be routed. */
export interface RoutingHints {
  /** A V2 version path segment: a revision number. */
  version?: string;
  /** A tag (`latest`, `prev`, a canary name) or a revision name, from the Inferd-Revision header. */
  tag?: string;
  /** A stable user key (A/B stickiness): the same key always lands on the same variant. */
  sticky?: string;
}

/** FNV-1a: a cheap, stable hash so sticky keys spread evenly over 100 buckets. */
export function bucketOf(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % 100;
}

/** Picks a target by percent: a sticky key's bucket, or a uniform random draw. */
export function pickByPercent(targets: readonly TrafficTarget[], sticky?: string): TrafficTarget | undefined {
  const total = targets.reduce((s, t) => s + t.percent, 0);
  if (total <= 0) return undefined;
  const point = sticky === undefined ? Math.random() * total : (bucketOf(sticky) / 100) * total;
  let acc = 0;
  for (const t of targets) {
    acc += t.percent;
    if (point < acc) return t;
  }
  return targets.findLast((t) => t.percent > 0);
}
