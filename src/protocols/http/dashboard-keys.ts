import type { FastifyInstance, FastifyRequest } from 'fastify';
import { invalidInput } from '../../api/errors.js';
import { parseExpiry, type ApiKeyInfo } from '../../security/key-store.js';
import { principalOf } from '../../security/principal.js';
import { isRole, PERMISSIONS, ROLES, roleAllows } from '../../security/roles.js';
import type { Security } from '../../security/security.js';
import { parseJson } from './body.js';

const INFERD = '/apis/inferd.dev/v1';
const NAMESPACE_RE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** A key as the API shows it: never the hash or the secret; `expiresAt` null and `revoked` spelled out for the dashboard. */
export function keyView(info: ApiKeyInfo): Record<string, unknown> {
  return { ...info, expiresAt: info.expiresAt ?? null, revoked: info.state === 'revoked' };
}

/**
 * `GET whoami`: who the caller is and what it may do, so the dashboard shows only
 * what will work. `principal`/`kind` are kept for callers written before `subject`/`auth`.
 */
export function registerWhoami(app: FastifyInstance, security: Security | undefined): void {
  app.get(`${INFERD}/whoami`, async (req) => {
    const p = principalOf(req);
    const roles = p?.roles ?? ['admin'];
    const subject = p?.id ?? 'anonymous';
    return {
      subject,
      roles,
      namespaces: p?.namespaces ?? '*',
      permissions: PERMISSIONS.filter((perm) => perm !== 'public' && perm !== 'static' && roleAllows(roles, perm)),
      auth: !security || security.authOff || !p || p.kind === 'anonymous' ? 'none' : p.kind,
      principal: subject,
      kind: p?.kind ?? 'anonymous',
    };
  });
}

/** `{role, namespaces, expires, description}` checked field by field, so a 400 names what is wrong. */
function parseCreate(body: unknown): { role: ApiKeyInfo['role']; namespaces: string[] | '*'; expiresAt?: Date; description?: string } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalidInput('expected a JSON object: {"role": ..., "namespaces": [...] or "*", "expires": "30d" or null}', 'body');
  const b = body as Record<string, unknown>;
  if (!isRole(b.role)) throw invalidInput(`role must be one of ${ROLES.join(', ')}`, 'role');
  // `namespace` and comma-separated strings: what older CLIs send.
  const raw = b.namespaces ?? b.namespace ?? ['default'];
  const list = raw === '*' ? '*' : typeof raw === 'string' ? raw.split(',') : raw;
  if (list !== '*' && (!Array.isArray(list) || list.length === 0 || !list.every((n) => typeof n === 'string'))) throw invalidInput('namespaces must be "*" or a non-empty array of namespace names', 'namespaces');
  const names = list === '*' ? '*' : (list as string[]).map((n) => n.trim());
  if (names !== '*' && !names.includes('*') && names.some((n) => !NAMESPACE_RE.test(n))) throw invalidInput('namespaces must be DNS labels (lower-case letters, digits, -) or "*"', 'namespaces');
  let expiresAt: Date | undefined;
  if (b.expires !== undefined && b.expires !== null && b.expires !== '') {
    if (typeof b.expires !== 'string') throw invalidInput('expires must be a duration like 30d, 12h, 90m, an ISO date, or null', 'expires');
    try {
      expiresAt = parseExpiry(b.expires);
    } catch {
      throw invalidInput(`expires ${JSON.stringify(b.expires.slice(0, 40))}: expected a duration like 30d, 12h, 90m or an ISO date`, 'expires');
    }
    if (!(expiresAt.getTime() > Date.now())) throw invalidInput('expires must be in the future', 'expires');
  }
  if (b.description !== undefined && (typeof b.description !== 'string' || b.description.length > 200)) throw invalidInput('description must be a string of at most 200 characters', 'description');
  return { role: b.role, namespaces: names === '*' || names.includes('*') ? '*' : names, ...(expiresAt ? { expiresAt } : {}), ...(typeof b.description === 'string' && b.description !== '' ? { description: b.description } : {}) };
}

/**
 * API keys (admin): list, create (the key is in the answer once, only its hash is
 * stored), revoke. Every change is audited here with its role and namespaces, never the key.
 */
export function registerKeyRoutes(app: FastifyInstance, security: Security): void {
  const who = (req: FastifyRequest) => principalOf(req)?.id ?? 'anonymous';
  app.get(`${INFERD}/keys`, async () => ({ apiVersion: 'v1', kind: 'List', items: security.keys.list().map(keyView) }));
  app.post(`${INFERD}/keys`, async (req: FastifyRequest<{ Body: Buffer }>, reply) => {
    const opts = parseCreate(req.body && req.body.length ? parseJson(req.body) : {});
    const { key, info } = await security.keys.create(opts);
    security.recordChange({ principal: who(req), action: 'keys.create', resource: info.prefix, outcome: 'success', requestId: req.id, details: { role: info.role, namespaces: info.namespaces === '*' ? '*' : info.namespaces.join(','), ...(info.expiresAt ? { expires: info.expiresAt } : {}) } });
    const item = keyView(info);
    // The item's fields also at the top level: what `inferd keys create -o json` printed before `item` existed.
    return reply.code(201).send({ key, item, ...item });
  });
  app.delete(`${INFERD}/keys/:id`, async (req: FastifyRequest<{ Params: { id: string } }>) => {
    try {
      const info = security.keys.revoke(req.params.id);
      security.recordChange({ principal: who(req), action: 'keys.revoke', resource: info.prefix, outcome: 'success', requestId: req.id });
      return keyView(info);
    } catch (err) {
      security.record({ principal: who(req), action: 'keys.revoke', resource: req.params.id.slice(0, 40), outcome: 'failure', requestId: req.id });
      throw err;
    }
  });
}
