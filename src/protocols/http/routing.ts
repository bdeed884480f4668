import type { FastifyInstance, FastifyRequest } from 'fastify';
import { invalidInput, quote } from '../../api/errors.js';
import type { RoutingHints } from '../../serving/traffic.js';

/** Response header naming the revision that answered. */
export const REVISION_HEADER = 'inferd-revision';

/**
 * Every model route is also served under this prefix (`/ns/team-a/v2/models/m/infer`), so a
 * model's URL routes by itself. The security hook checks the `:namespace` param.
 */
export const NAMESPACE_PREFIX = '/ns/:namespace';

/** A model route's paths: as is, and under `/ns/:namespace`. */
export function namespacedPaths(path: string): [string, string] {
  return [path, `${NAMESPACE_PREFIX}${path}`];
}

/** The request property (a getter, see installHostRouting) holding the Host header's namespace. */
const HOST_NAMESPACE = 'inferdHostNamespace';

/**
 * The namespace a request names: the `/ns/{namespace}` path, else the `Inferd-Namespace`
 * header, else a Host `{name}.{namespace}.{domain}`. It only says where to look: the router
 * still hides namespaces the caller may not see (404, as for a missing model).
 */
export function namespaceOf(req: FastifyRequest): string | undefined {
  const param = (req.params as { namespace?: unknown } | undefined)?.namespace;
  if (typeof param === 'string' && param !== '') return param;
  const ns = req.headers['inferd-namespace'];
  if (typeof ns === 'string' && ns !== '') return ns;
  return (req as unknown as { [HOST_NAMESPACE]?: string })[HOST_NAMESPACE];
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** `{name}.{namespace}.{domain}[:port]` → namespace; anything else → undefined. */
export function namespaceFromHost(host: string | undefined, domain: string): string | undefined {
  if (!host || host.length > 255 || host.startsWith('[')) return undefined;
  let h = host.toLowerCase();
  const colon = h.lastIndexOf(':');
  if (colon >= 0) h = h.slice(0, colon);
  if (h.endsWith('.')) h = h.slice(0, -1);
  if (!h.endsWith(`.${domain}`)) return undefined;
  const labels = h.slice(0, -domain.length - 1).split('.');
  if (labels.length !== 2 || !labels.every((l) => DNS_LABEL.test(l))) return undefined;
  return labels[1];
}

/**
 * Host-based routing, as KServe's ingress. A getter on the request, not a hook: the Host
 * header is parsed only for the requests that name no namespace by path or header.
 */
export function installHostRouting(app: FastifyInstance, domain: string): void {
  app.decorateRequest(HOST_NAMESPACE, {
    getter(this: FastifyRequest) {
      return namespaceFromHost(this.headers.host, domain);
    },
  });
}

/** Per-request routing: `Inferd-Revision` names a tag or revision; `Inferd-Sticky` (or the `inferd-sticky` cookie) pins an A/B variant. */
export function routingHints(req: FastifyRequest, version?: string): RoutingHints {
  const hints: RoutingHints = {};
  if (version !== undefined) hints.version = version;
  const tag = req.headers['inferd-revision'];
  if (typeof tag === 'string' && tag !== '') hints.tag = tag;
  const sticky = req.headers['inferd-sticky'] ?? cookie(req.headers.cookie, 'inferd-sticky');
  if (typeof sticky === 'string' && sticky !== '') hints.sticky = sticky;
  return hints;
}

function cookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      const value = part.slice(eq + 1).trim();
      try {
        return decodeURIComponent(value);
      } catch {
        return value; // malformed %-escape: use the raw value rather than fail the request
      }
    }
  }
  return undefined;
}

/** A day: beyond it a deadline means nothing, and a huge one overflows the timers that enforce it. */
const MAX_TIMEOUT_S = 86_400;

/** `Inferd-Timeout: SECONDS` sets the request's deadline (the predictor's `timeout` still caps it). */
export function deadlineOf(req: FastifyRequest): number | undefined {
  const raw = req.headers['inferd-timeout'];
  if (typeof raw !== 'string') return undefined;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > MAX_TIMEOUT_S) {
    throw invalidInput(`Inferd-Timeout must be a positive number of seconds up to ${MAX_TIMEOUT_S}, got ${quote(JSON.stringify(raw))}`, 'Inferd-Timeout');
  }
  return Date.now() + seconds * 1000;
}
