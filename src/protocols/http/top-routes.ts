import type { FastifyInstance } from 'fastify';
import type { Observability } from '../../observability/observability.js';
import { allowedOf } from '../../security/principal.js';

/** The Top document for the namespaces `allowed` lets through (all when undefined); also sent by the dashboard's watch stream. */
export function topView(obs: Observability, allowed: ((ns: string) => boolean) | undefined, top = obs.metrics.top()) {
  return {
    apiVersion: 'inferd.dev/v1',
    kind: 'Top',
    time: new Date().toISOString(),
    windowSeconds: top.windowSeconds,
    metricsEnabled: obs.metrics.enabled,
    models: allowed ? top.models.filter((m) => allowed(m.namespace)) : top.models,
  };
}

/**
 * `GET /apis/inferd.dev/v1/top`: per model revision over the sliding window (default
 * 60 s): requests per second, p50/p95/p99 latency (seconds), errors, queue, memory.
 * What `inferd top` draws. Namespaces the caller cannot see are left out.
 */
export function registerTopRoutes(app: FastifyInstance, obs: Observability): void {
  app.get('/apis/inferd.dev/v1/top', { config: { permission: 'read' } }, async (req) => topView(obs, allowedOf(req)));
}
