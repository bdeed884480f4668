import type { FastifyRequest } from 'fastify';
import { invalidInput, quote } from '../../api/errors.js';
import type { RoutingHints } from '../../serving/traffic.js';

/** Response header naming the revision that answered. */
export const REVISION_HEADER = 'inferd-revision';

export function namespaceOf(req: FastifyRequest): string | undefined {
  const ns = req.headers['inferd-namespace'];
  return typeof ns === 'string' && ns !== '' ? ns : undefined;
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
