import type { FastifyRequest } from 'fastify';
import type { Protocol } from '../../observability/metrics.js';
import { routePermission, type Permission } from '../../security/roles.js';
import { NAMESPACE_PREFIX } from './routing.js';

/**
 * What the hooks need to know about the route a request matched. Computed once per route
 * and method, and read once per request: fastify builds a fresh `routeOptions` object on
 * every access, and the security, audit and metrics hooks each asked it several times.
 */
export interface RouteFacts {
  /** The route's URL pattern; undefined when nothing matched (the 404 handler answers). */
  url: string | undefined;
  permission: Permission;
  /** The inference protocol counted in metrics, or null for every other route. */
  protocol: Protocol | null;
}

const PER_ROUTE = Symbol('inferd.routeFacts');
const PER_REQUEST = Symbol('inferd.requestRouteFacts');

type FactsByMethod = Record<string, RouteFacts>;

export function routeFacts(req: FastifyRequest): RouteFacts {
  const held = (req as unknown as Record<symbol, RouteFacts | undefined>)[PER_REQUEST];
  if (held) return held;
  const config = req.routeOptions.config as unknown as (Record<string, unknown> & { [PER_ROUTE]?: FactsByMethod }) | undefined;
  const byMethod = config ? (config[PER_ROUTE] ??= {}) : {};
  const facts = (byMethod[req.method] ??= compute(req.method, typeof config?.url === 'string' ? config.url : undefined, config?.permission));
  (req as unknown as Record<symbol, RouteFacts>)[PER_REQUEST] = facts;
  return facts;
}

function compute(method: string, url: string | undefined, declared: unknown): RouteFacts {
  return { url, permission: routePermission(method, url, declared), protocol: protocolOfRoute(method, url) };
}

/** Inference routes by method and route URL; everything else is not counted. */
export function protocolOfRoute(method: string, url: string | undefined): Protocol | null {
  if (url === undefined || method !== 'POST') return null;
  if (url.startsWith(NAMESPACE_PREFIX)) url = url.slice(NAMESPACE_PREFIX.length);
  if (url.startsWith('/v2/models/') && url.endsWith('/infer')) return 'v2';
  if (url.startsWith('/v1/models/') && url.endsWith(':predict')) return 'v1';
  if (/^(\/openai)?\/v1\/(chat\/completions|completions|embeddings)$/.test(url)) return 'openai';
  return null;
}
