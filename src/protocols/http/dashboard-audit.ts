import type { FastifyInstance, FastifyRequest } from 'fastify';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { invalidInput, notFound } from '../../api/errors.js';
import { auditFiles, verifyAudit } from '../../security/audit.js';
import type { Security } from '../../security/security.js';

const INFERD = '/apis/inferd.dev/v1';
const MAX_LIMIT = 1000;
const CHUNK = 64 * 1024;

/**
 * The last `limit` lines of a file, newest first, reading backwards in chunks so a
 * 64 MiB log costs what the answer needs, not the whole file.
 */
function lastLines(path: string, limit: number): string[] {
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    return [];
  }
  const fd = openSync(path, 'r');
  try {
    const out: string[] = [];
    let pos = size;
    let carry = '';
    while (pos > 0 && out.length < limit) {
      const n = Math.min(CHUNK, pos);
      pos -= n;
      const buf = Buffer.alloc(n);
      readSync(fd, buf, 0, n, pos);
      const parts = (buf.toString('utf8') + carry).split('\n');
      carry = pos > 0 ? parts.shift()! : '';
      for (let i = parts.length - 1; i >= 0 && out.length < limit; i--) if (parts[i]!.trim() !== '') out.push(parts[i]!);
    }
    if (carry.trim() !== '' && out.length < limit) out.push(carry);
    return out;
  } finally {
    closeSync(fd);
  }
}

/** Entries newest first, across rotated files (`audit.log`, then `.1`, `.2`, ...). */
export function recentAudit(path: string, limit: number): unknown[] {
  const items: unknown[] = [];
  for (const file of auditFiles(path).reverse()) {
    for (const line of lastLines(file, limit - items.length)) {
      try {
        items.push(JSON.parse(line));
      } catch {
        items.push({ unreadable: line.slice(0, 200) }); // a torn or edited line: verify says which
      }
    }
    if (items.length >= limit) break;
  }
  return items;
}

/** The audit log for the dashboard (admin): recent entries and the chain check `inferd audit verify` runs. */
export function registerAuditRoutes(app: FastifyInstance, security: Security): void {
  const path = () => {
    if (!security.audit) throw notFound('the audit log is off (security.audit.enabled: false)');
    return security.audit.path;
  };
  app.get(`${INFERD}/audit`, async (req: FastifyRequest<{ Querystring: { limit?: string } }>) => {
    const raw = req.query.limit;
    const limit = raw === undefined || raw === '' ? 100 : Number(raw);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) throw invalidInput(`limit must be an integer from 1 to ${MAX_LIMIT}, got ${JSON.stringify(String(raw).slice(0, 20))}`, 'limit');
    return { apiVersion: 'v1', kind: 'List', items: recentAudit(path(), limit) };
  });
  app.get(`${INFERD}/audit/verify`, async () => verifyAudit(path()));
}
