import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InferdError, quote } from '../api/errors.js';
import type { Config } from '../config/config.js';
import type { Logger } from '../observability/logger.js';
import { AuditLog, type AuditEvent } from './audit.js';
import { storeLostHistory } from '../control/store-history.js';
import { KeyStore, type ApiKeyInfo } from './key-store.js';
import { OidcRejection, OidcVerifier } from './oidc.js';
import { ANONYMOUS_ADMIN, namespaceAllowed, type Principal } from './principal.js';
import { MemoryBuckets, RedisBuckets, type BucketStore, type TakeResult } from './rate-limit.js';
import { roleAllows, type Permission } from './roles.js';
import type { BucketConfig, SecurityConfig } from './security-config.js';
import type { SharedRedis } from '../shared-state/redis.js';

export const ADMIN_KEY_FILE = 'admin.key';

/** Rate-limit annotations on an InferenceService (override `security.rateLimits.perModel`). */
export const RPS_ANNOTATION = 'inferd.dev/rate-limit-rps';
export const BURST_ANNOTATION = 'inferd.dev/rate-limit-burst';

export interface SecurityDeps {
  /** Annotations of an InferenceService, for per-model limits; undefined when it does not exist. */
  annotations?: (namespace: string, name: string) => Record<string, string> | undefined;
  /** The server's Redis connection (config `redis`): rate-limit buckets are shared through it. */
  redis?: SharedRedis;
  /** The resource store's version, recorded with each control-plane change (checked against the store at start). */
  storeVersion?: () => number;
}

/** Credentials as presented: the bearer token (or X-API-Key value) and where the call came from. */
export interface Presented {
  token?: string;
  remote?: string;
  requestId?: string;
  /** Method/route or gRPC method, for the audit log. */
  what: string;
}

/**
 * The security runtime one server shares between HTTP and gRPC: authentication (API
 * keys, OIDC), authorization (roles × permissions, namespaces), rate limits, audit.
 */
export class Security {
  readonly cfg: SecurityConfig;
  readonly keys: KeyStore;
  readonly audit: AuditLog | undefined;
  private readonly oidc: OidcVerifier | undefined;
  private readonly buckets: BucketStore;
  private readonly annotationCache = new Map<string, { at: number; value: BucketConfig | undefined }>();
  /** One principal per key record (KeyStore hands out the same record until the key changes). */
  private readonly keyPrincipals = new WeakMap<ApiKeyInfo, Principal>();
  /** Auth off without per-caller limits: every request is the same anonymous admin. */
  private readonly anonymous: Principal | undefined;

  constructor(readonly config: Config, readonly log: Logger, private readonly deps: SecurityDeps = {}) {
    this.cfg = config.security;
    this.keys = new KeyStore(config.dataDir);
    const useOidc = this.cfg.auth === 'oidc' || this.cfg.auth === 'keys+oidc';
    if (useOidc && !this.cfg.oidc) throw new InferdError('invalid_input', `security.auth ${this.cfg.auth} needs security.oidc (issuer, audience)`);
    this.oidc = useOidc ? new OidcVerifier(this.cfg.oidc!) : undefined;
    this.buckets = deps.redis ? new RedisBuckets(deps.redis) : new MemoryBuckets();
    this.audit = this.cfg.audit.enabled ? new AuditLog(auditPath(config), this.cfg.audit) : undefined;
    this.anonymous = this.cfg.rateLimits.perKey ? undefined : { ...ANONYMOUS_ADMIN, bucket: 'anonymous' };
    const gap = this.audit?.missingTail;
    if (gap) this.log.error({ auditLog: this.audit!.path, logSeq: gap.logSeq, headSeq: gap.headSeq }, `the audit log ends at entry ${gap.logSeq} but its head records ${gap.headSeq}: entries were removed while inferd was stopped; the chain continues from the head, so inferd audit verify reports the gap`);
  }

  get authOff(): boolean {
    return this.cfg.auth === 'none';
  }

  private get keysOn(): boolean {
    return this.cfg.auth === 'keys' || this.cfg.auth === 'keys+oidc';
  }

  /**
   * First start with keys on and no keys stored: create an admin key, keep only its
   * hash, and write the key to `<dataDir>/admin.key` (0600) for the local CLI.
   */
  async bootstrap(opts: { allowStoreReset?: boolean } = {}): Promise<void> {
    if (this.authOff) {
      this.log.warn('security.auth is none: every API, including the admin API, answers anyone who can reach the port');
      return;
    }
    if (!this.keysOn || this.keys.count() > 0) return;
    const file = join(this.config.dataDir, ADMIN_KEY_FILE);
    // An admin key file beside a store without keys: the store lost its keys (a deleted WAL, a
    // restored old copy). Minting a new admin key would hide that and lock out every client.
    if (existsSync(file) && !opts.allowStoreReset) throw storeLostHistory(this.config.dataDir, [`${file} exists but the store holds no API keys`]);
    const { key, info } = await this.keys.create({ role: 'admin', namespaces: '*', description: 'bootstrap admin key' });
    writeFileSync(file, `${key}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
    this.recordChange({ principal: 'inferd', action: 'keys.bootstrap', resource: info.prefix, outcome: 'success', details: { role: 'admin', namespaces: '*' } });
    this.log.info({ adminKeyFile: file, prefix: info.prefix }, `created the bootstrap admin API key; it is in ${file} (mode 0600), which the inferd CLI reads by default`);
  }

  /**
   * Who is calling. Throws 401 (never echoing the credential). A Promise only when the
   * credential needs work that waits: a key not verified before (scrypt) or an OIDC token.
   */
  authenticate(p: Presented): Principal | Promise<Principal> {
    if (this.authOff) return this.anonymous ?? { ...ANONYMOUS_ADMIN, bucket: `ip:${p.remote ?? '?'}` };
    const token = p.token;
    if (!token) throw this.denied(p, 'unauthenticated', 'missing credentials', 'credentials required: send Authorization: Bearer <API key or token>');
    if (this.keysOn && token.startsWith('ik_')) {
      const info = this.keys.verify(token);
      return info instanceof Promise ? info.then((i) => this.keyPrincipal(i, token, p)) : this.keyPrincipal(info, token, p);
    }
    if (this.oidc && OidcVerifier.looksLikeJwt(token)) return this.authenticateOidc(token, p);
    throw this.denied(p, 'unauthenticated', 'unrecognised credential', 'invalid credentials');
  }

  private keyPrincipal(info: ApiKeyInfo | undefined, token: string, p: Presented): Principal {
    if (!info) throw this.denied(p, 'unauthenticated', `key ${token.slice(0, 15)} invalid, revoked or expired`, 'invalid, revoked or expired API key');
    let principal = this.keyPrincipals.get(info);
    if (!principal) this.keyPrincipals.set(info, (principal = { id: `key:${info.id}`, kind: 'key', roles: [info.role], namespaces: info.namespaces, bucket: `key:${info.id}` }));
    return principal;
  }

  private async authenticateOidc(token: string, p: Presented): Promise<Principal> {
    try {
      const id = await this.oidc!.verify(token);
      return { id: `oidc:${id.subject}`, kind: 'oidc', roles: id.roles, namespaces: id.namespaces, bucket: `oidc:${id.subject}` };
    } catch (err) {
      const reason = err instanceof OidcRejection ? err.message : 'JWKS unavailable';
      if (!(err instanceof OidcRejection)) this.log.warn({ err: (err as Error).message }, 'OIDC verification failed');
      throw this.denied(p, 'unauthenticated', reason.slice(0, 200), 'invalid or expired token');
    }
  }

  /** 403 unless one of the principal's roles carries the permission. */
  authorize(principal: Principal, permission: Permission, p: Presented): void {
    if (!roleAllows(principal.roles, permission)) {
      throw this.denied(p, 'forbidden', `needs ${permission}`, `the caller's role does not allow this (${permission} permission needed)`, principal.id);
    }
  }

  /** A namespace the principal may not see: 404, audited as a denial. */
  hideNamespace(principal: Principal, ns: string, p: Presented): void {
    if (namespaceAllowed(principal, ns)) return;
    this.record({ principal: principal.id, action: 'auth.namespace', resource: p.what, outcome: 'denied', ...(p.requestId ? { requestId: p.requestId } : {}), details: { namespace: ns.slice(0, 64) } });
    throw new InferdError('not_found', `namespace ${quote(ns)} not found`);
  }

  private denied(p: Presented, code: 'unauthenticated' | 'forbidden', reason: string, message: string, principal = 'unauthenticated'): InferdError {
    this.record({
      principal,
      action: code === 'unauthenticated' ? 'auth.failed' : 'auth.forbidden',
      resource: p.what,
      outcome: 'denied',
      ...(p.requestId ? { requestId: p.requestId } : {}),
      details: { reason, ...(p.remote ? { remote: p.remote } : {}) },
    });
    return new InferdError(code, message);
  }

  /**
   * A change to stored state (resources, keys): recorded with the store's version and
   * flushed to disk before the caller answers, so an acknowledged change has its entry.
   */
  recordChange(event: AuditEvent): void {
    const version = this.deps.storeVersion?.();
    this.record(version === undefined ? event : { ...event, details: { ...event.details, storeVersion: version } }, true);
  }

  record(event: AuditEvent, durable = false): void {
    if (!this.audit) return;
    try {
      this.audit.record(event, durable);
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'audit log write failed');
    }
  }

  /** Per-credential bucket; undefined when no per-key limit is configured. */
  takeKey(principal: Principal): Promise<TakeResult> | undefined {
    const b = this.cfg.rateLimits.perKey;
    return b ? this.buckets.take(`k:${principal.bucket}`, b) : undefined;
  }

  /** Per-InferenceService bucket (annotation, else `perModel`); undefined when unlimited. */
  takeModel(namespace: string, name: string, cost = 1): Promise<TakeResult> | undefined {
    const b = this.modelBucket(namespace, name);
    return b ? this.buckets.take(`m:${namespace}/${name}`, b, cost) : undefined;
  }

  /**
   * A second bucket kind for LLM routes: tokens per minute per model (burst = the minute's
   * budget). The OpenAI routes call this with the token count of a request.
   */
  takeModelTokens(namespace: string, name: string, tokens: number, perMinute: number): Promise<TakeResult> {
    return this.buckets.take(`t:${namespace}/${name}`, { rps: perMinute / 60, burst: perMinute }, tokens);
  }

  private modelBucket(namespace: string, name: string): BucketConfig | undefined {
    const k = `${namespace}/${name}`;
    const cached = this.annotationCache.get(k);
    if (cached && Date.now() - cached.at < 2000) return cached.value;
    let value = this.cfg.rateLimits.perModel;
    try {
      const a = this.deps.annotations?.(namespace, name);
      const rps = Number(a?.[RPS_ANNOTATION]);
      if (a && Number.isFinite(rps) && rps > 0) {
        const burst = Math.max(1, Math.floor(Number(a[BURST_ANNOTATION] ?? Math.ceil(rps))) || 1);
        value = { rps, burst };
      }
    } catch {
      // Unknown model: the route answers 404 itself.
    }
    if (this.annotationCache.size > 10_000) this.annotationCache.clear();
    this.annotationCache.set(k, { at: Date.now(), value });
    return value;
  }

  async close(): Promise<void> {
    await this.buckets.close();
    this.audit?.close();
    this.keys.close();
  }
}

/** 429 in the one error type; the HTTP layer adds the RateLimit headers. */
export function rateLimited(r: TakeResult, what: string): InferdError {
  return new InferdError('overloaded', `rate limit exceeded for ${what}; retry after ${r.retryAfterSeconds}s`, { retryAfter: r.retryAfterSeconds });
}

/** Where the audit log lives: `security.audit.path`, else `<dataDir>/audit.log`. */
export function auditPath(config: Config): string {
  return config.security.audit.path ?? join(config.dataDir, 'audit.log');
}
