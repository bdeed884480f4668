import type { FastifyRequest } from 'fastify';
import { InferdError, quote } from '../api/errors.js';
import type { Role } from './roles.js';

/** Who is calling: from an API key, an OIDC token, or anonymous when auth is off. */
export interface Principal {
  /** `key:<id>`, `oidc:<subject>` or `anonymous`. */
  id: string;
  kind: 'key' | 'oidc' | 'anonymous';
  roles: Role[];
  /** Namespaces the principal may see and act in; `'*'` for all. */
  namespaces: readonly string[] | '*';
  /** Rate-limit bucket key for this caller. */
  bucket: string;
}

export const ANONYMOUS_ADMIN: Omit<Principal, 'bucket'> = { id: 'anonymous', kind: 'anonymous', roles: ['admin'], namespaces: '*' };

const PRINCIPAL = Symbol.for('inferd.principal');

export function setPrincipal(target: object, p: Principal): void {
  (target as Record<symbol, unknown>)[PRINCIPAL] = p;
}

/** The caller of a request, or undefined where no security hook ran (in-process tests). */
export function principalOf(target: object): Principal | undefined {
  return (target as Record<symbol, unknown>)[PRINCIPAL] as Principal | undefined;
}

export function namespaceAllowed(p: Principal | undefined, ns: string): boolean {
  return !p || p.namespaces === '*' || p.namespaces.includes(ns);
}

/**
 * The filter to hand to `ModelRouter.resolve`/`list` for this request: undefined when
 * the caller sees every namespace, so the router's behaviour is unchanged.
 */
export function allowedOf(req: FastifyRequest | object): ((ns: string) => boolean) | undefined {
  const p = principalOf(req);
  if (!p || p.namespaces === '*') return undefined;
  let allowed = filters.get(p);
  if (!allowed) {
    const set = new Set(p.namespaces);
    filters.set(p, (allowed = (ns) => set.has(ns)));
  }
  return allowed;
}

/** Per principal, built once: principals of API keys live as long as the key's record. */
const filters = new WeakMap<Principal, (ns: string) => boolean>();

/** 404 in the router's words, so a namespace the caller cannot see looks like nothing is there. */
export function hiddenNamespace(kind: string, name: string | undefined, ns: string): InferdError {
  return new InferdError('not_found', name === undefined ? `namespace ${quote(ns)} not found` : `${kind} "${quote(name)}" not found in namespace ${quote(ns)}`);
}
