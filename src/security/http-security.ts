import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Server as TlsServer } from 'node:tls';
import { InferdError } from '../api/errors.js';
import type { LoadedResource } from '../api/resources/manifest.js';
import type { ModelRouter } from '../serving/model-router.js';
import { checkJsonLimits } from './json-limits.js';
import { namespaceOf } from '../protocols/http/routing.js';
import { allowedOf, namespaceAllowed, principalOf, setPrincipal, type Principal } from './principal.js';
import type { TakeResult } from './rate-limit.js';
import type { Permission } from './roles.js';
import { routeFacts } from '../protocols/http/route-facts.js';
import { rateLimited, type Presented, type Security } from './security.js';
import { httpsOptions, watchTlsFiles } from './tls.js';

const INFERD = '/apis/inferd.dev/v1';

/** Fastify constructor options from `security`: HTTPS, header size and slow-client timeouts. */
export function fastifySecurityOptions(security: Security | undefined): Record<string, unknown> {
  if (!security) return {};
  const l = security.cfg.limits;
  const base = {
    requestTimeout: l.requestTimeoutMs,
    keepAliveTimeout: l.keepAliveTimeoutMs,
    connectionTimeout: l.requestTimeoutMs,
  };
  const tls = security.cfg.tls;
  // Node checks headersTimeout/requestTimeout every connectionsCheckingInterval (30 s by default): tighten it.
  const server = { maxHeaderSize: l.maxHeaderBytes, connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(l.headersTimeoutMs / 2))) };
  if (tls) return { ...base, https: { ...httpsOptions(tls), ...server } };
  return { ...base, http: server };
}

/** Bearer token from `Authorization`, else `X-API-Key` (KServe clients that only set a header). */
export function bearerOf(headers: Record<string, string | string[] | undefined>): string | undefined {
  const auth = headers.authorization;
  if (typeof auth === 'string') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    return m ? m[1] : undefined;
  }
  const k = headers['x-api-key'];
  return typeof k === 'string' && k !== '' ? k.trim() : undefined;
}

/** Credentials of an HTTP request; the remote address and request line are read only when a refusal is audited. */
class PresentedRequest implements Presented {
  readonly token: string | undefined;
  readonly requestId: string;
  constructor(private readonly req: FastifyRequest) {
    this.token = bearerOf(req.headers);
    this.requestId = req.id;
  }

  get remote(): string {
    return this.req.ip;
  }

  get what(): string {
    return `${this.req.method} ${this.req.url.split('?')[0]!.slice(0, 200)}`;
  }
}

function setRateHeaders(reply: FastifyReply, r: TakeResult): void {
  void reply.header('ratelimit-limit', String(r.limit));
  void reply.header('ratelimit-remaining', String(r.remaining));
  void reply.header('ratelimit-reset', String(r.resetSeconds));
}

/**
 * Every route's gate, as one `onRequest` hook on the root instance so routes added
 * later (the OpenAI API) are covered without code of their own: credentials → the
 * route's `:namespace` (404 when hidden) → the permission from the route table (403)
 * → the per-key bucket (429). `preHandler` then bounds JSON bodies and takes the
 * per-model bucket for inference routes; `onSend` audits control-plane changes.
 */
export function installHttpSecurity(app: FastifyInstance, security: Security, deps: { router: ModelRouter; admin: boolean }): void {
  const limits = security.cfg.limits;
  app.server.headersTimeout = limits.headersTimeoutMs;
  app.server.maxConnections = limits.maxConnections;
  if (security.cfg.tls) {
    const stop = watchTlsFiles(app.server as unknown as TlsServer, security.cfg.tls, security.log);
    app.addHook('onClose', async () => stop());
  }

  /** After authentication: namespace, permission, per-key bucket. */
  const admit = (req: FastifyRequest, reply: FastifyReply, p: Presented, permission: Permission, principal: Principal): Promise<void> | void => {
    setPrincipal(req, principal);
    const ns = (req.params as Record<string, unknown> | undefined)?.namespace;
    if (typeof ns === 'string') security.hideNamespace(principal, ns, p);
    security.authorize(principal, permission, p);
    const taken = security.takeKey(principal);
    if (!taken) return markAdmitted(req);
    return taken.then((t) => {
      setRateHeaders(reply, t);
      if (!t.allowed) throw rateLimited(t, 'this credential');
      markAdmitted(req);
    });
  };

  /** The gate: credentials, then `admit`. A Promise only when a step must wait (scrypt, OIDC, Redis). */
  const gate = (req: FastifyRequest, reply: FastifyReply): Promise<void> | void => {
    const { url, permission } = routeFacts(req);
    if (url === undefined) return; // no route: the 404 handler answers
    if (permission === 'static' || (permission === 'public' && security.cfg.publicHealth)) return;
    const p = new PresentedRequest(req);
    let principal: Principal | Promise<Principal>;
    try {
      principal = security.authenticate(p);
    } catch (err) {
      return challenge(reply, err);
    }
    if (principal instanceof Promise) return principal.then((pr) => admit(req, reply, p, permission, pr), (err: unknown) => challenge(reply, err));
    return admit(req, reply, p, permission, principal);
  };

  /** JSON bounds, then the per-model bucket for inference routes. */
  const admitBody = (req: FastifyRequest, reply: FastifyReply): Promise<void> | void => {
    const body = req.body;
    if (Buffer.isBuffer(body) && body.length > 0) {
      let end = body.length;
      const hl = req.headers['inference-header-content-length'];
      if (typeof hl === 'string' && /^\d+$/.test(hl) && Number(hl) <= body.length) end = Number(hl);
      let i = 0;
      while (i < end && (body[i] === 0x20 || body[i] === 0x0a || body[i] === 0x0d || body[i] === 0x09)) i++;
      if (body[i] === 0x7b || body[i] === 0x5b) checkJsonLimits(body, limits, end);
    }
    const principal = principalOf(req);
    const name = (req.params as Record<string, unknown> | undefined)?.name;
    if (!principal || typeof name !== 'string' || routeFacts(req).permission !== 'infer') return;
    let ep: { namespace: string; name: string };
    try {
      ep = deps.router.resolve(name, namespaceOf(req), {}, allowedOf(req));
    } catch {
      return; // the route answers 404/503 itself
    }
    return security.takeModel(ep.namespace, ep.name)?.then((taken) => {
      setRateHeaders(reply, taken);
      if (!taken.allowed) throw rateLimited(taken, `model ${ep.name}`);
    });
  };

  // Callback hooks with synchronous fast paths: an async hook costs every request a promise
  // chain, and these run on every request (about a fifth of a tiny model's requests/s).
  app.addHook('onRequest', (req, reply, done) => settle(gate, req, reply, done));
  app.addHook('preHandler', (req, reply, done) => settle(admitBody, req, reply, done));

  const audit = (req: FastifyRequest, reply: FastifyReply): void => {
    const { url, permission } = routeFacts(req);
    if (url === undefined || req.method === 'GET' || req.method === 'HEAD') return;
    const principal = principalOf(req);
    if (!principal || !(req as unknown as Record<symbol, boolean>)[ADMITTED]) return; // refused by the gate: already audited
    const isChange = permission === 'deploy' || permission === 'admin';
    if (!isChange && !(permission === 'infer' && security.cfg.audit.inference)) return;
    if (url.startsWith(`${INFERD}/keys`)) return; // audited with more detail by the route
    const params = (req.params ?? {}) as Record<string, string>;
    const applied = (reply as unknown as { [APPLIED]?: string })[APPLIED];
    const event = {
      principal: principal.id,
      action: isChange ? actionName(req.method, url) : 'inference',
      resource: applied ?? ([params.namespace ?? namespaceOf(req), params.name].filter((x) => typeof x === 'string' && x !== '').join('/') || req.url.split('?')[0]!.slice(0, 200)),
      outcome: reply.statusCode < 400 ? 'success' : `failure`,
      requestId: req.id,
      details: { status: reply.statusCode, route: `${req.method} ${url}` },
    };
    if (isChange) security.recordChange(event);
    else security.record(event);
  };
  // Audited before the answer is written, never after it (an `onResponse` hook): a client that
  // saw its change acknowledged, or went away first, must find it in the audit log.
  app.addHook('onSend', (req, reply, payload, done) => {
    if (req.method === 'POST' && typeof payload === 'string' && reply.statusCode < 300 && /\/apply$|\/inferenceservices$/.test(routeFacts(req).url ?? '')) {
      try {
        const applied = (JSON.parse(payload) as { applied?: Array<{ kind: string; namespace: string; name: string; action: string }> }).applied ?? [];
        (reply as unknown as Record<symbol, string>)[APPLIED] = applied.map((a) => `${a.kind}/${a.namespace}/${a.name}:${a.action}`).join(',').slice(0, 2000);
      } catch {
        // Not JSON: audited without the list.
      }
    }
    audit(req, reply);
    done(null, payload);
  });

  // The key and whoami routes live in src/protocols/http/dashboard-keys.ts, registered by the HTTP server.
}

/** Runs a hook step that may return a Promise, calling fastify's `done` once: at once when it did not. */
function settle(
  step: (req: FastifyRequest, reply: FastifyReply) => Promise<void> | void,
  req: FastifyRequest,
  reply: FastifyReply,
  done: (err?: Error) => void,
): void {
  let pending: Promise<void> | void;
  try {
    pending = step(req, reply);
  } catch (err) {
    return done(err as Error);
  }
  if (pending) pending.then(() => done(), (err: unknown) => done(err as Error));
  else done();
}

/** A 401 carries the Bearer challenge (RFC 6750); the error goes on to fastify's handler. */
function challenge(reply: FastifyReply, err: unknown): never {
  if (InferdError.is(err) && err.code === 'unauthenticated') void reply.header('www-authenticate', 'Bearer realm="inferd"');
  throw err;
}

const APPLIED = Symbol('inferd.applied');
const ADMITTED = Symbol('inferd.admitted');

/** Passed the gate: the audit hook records only admitted requests (refusals are audited at the gate). */
function markAdmitted(req: FastifyRequest): void {
  (req as unknown as Record<symbol, boolean>)[ADMITTED] = true;
}

function actionName(method: string, url: string): string {
  const parts = url.split('/').filter((s) => s && !s.startsWith(':') && s !== 'apis' && s !== 'namespaces' && !/^(serving\.kserve\.io|inferd\.dev|v1|v1beta1|v1alpha1)$/.test(s));
  const verb = { POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' }[method] ?? method.toLowerCase();
  const last = parts.at(-1);
  if (last === 'apply') return 'apply';
  if (last === 'promote' || last === 'rollback') return `${parts.at(-3) ?? 'inferenceservices'}.${last}`;
  return `${parts.join('.') || 'root'}.${verb}`;
}

/** For the admin routes: hides items in namespaces the caller cannot see. */
export function visibleTo(req: FastifyRequest): (item: { metadata: { namespace?: string | undefined } }) => boolean {
  const p = principalOf(req);
  return (item) => namespaceAllowed(p, item.metadata.namespace ?? 'default');
}

/**
 * For apply: an admin's resources may run any command or module; everyone else's only
 * what `runtimes` allows (src/control/runtime-policy.ts). No principal: no security hook
 * ran (in-process use), which is the operator's own.
 */
export function trustOf(req: FastifyRequest): 'admin' | 'tenant' {
  const p = principalOf(req);
  return !p || p.roles.includes('admin') ? 'admin' : 'tenant';
}

/**
 * For apply: every resource must be in a namespace the caller may write (403 names it);
 * cluster-scoped kinds need admin.
 */
export function assertCanApply(req: FastifyRequest, items: readonly LoadedResource[]): void {
  const p = principalOf(req);
  if (!p) return;
  for (const { resource } of items) {
    if (resource.kind === 'ClusterServingRuntime') {
      if (!p.roles.includes('admin')) throw new InferdError('forbidden', `${resource.kind} ${resource.metadata.name} is cluster-scoped: admin role needed`);
      continue;
    }
    const param = (req.params as Record<string, unknown> | undefined)?.namespace;
    const ns = resource.metadata.namespace ?? (typeof param === 'string' ? param : 'default');
    if (!namespaceAllowed(p, ns)) throw new InferdError('forbidden', `not allowed to write in namespace ${ns}`);
  }
}
