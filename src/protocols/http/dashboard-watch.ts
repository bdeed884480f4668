import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServerResponse } from 'node:http';
import { InferdError } from '../../api/errors.js';
import type { ControlPlane } from '../../control/control-plane.js';
import type { Observability } from '../../observability/observability.js';
import { principalOf } from '../../security/principal.js';
import { roleAllows } from '../../security/roles.js';
import { redactSecretEnv, seesSecrets } from '../../security/secret-env.js';
import type { ModelRouter } from '../../serving/model-router.js';
import { topView } from './top-routes.js';

export const MAX_WATCHERS = 64;
/** So one credential (a script gone wrong, many tabs) cannot take every slot. */
export const MAX_WATCHERS_PER_PRINCIPAL = 16;
const HEARTBEAT_MS = 15_000;
/** Status can change without the routing fingerprint moving (e.g. an annotation-only apply through GitOps); recompute this often regardless. */
const FULL_RECOMPUTE_MS = 10_000;
/** A client this far behind is dropped; it reconnects and gets the current state. */
const MAX_BUFFERED = 1 << 20;

interface Watcher {
  res: ServerResponse;
  principal: string;
}

/** Watchers that see the same namespaces, with the same right to env secrets, share one serialized payload per event. */
interface Scope {
  allowed: ((ns: string) => boolean) | undefined;
  /** Whether this scope's callers see secret-looking env values of a namespace's resources. */
  secrets: (ns: string) => boolean;
  watchers: Set<Watcher>;
  /** The last `resources` frame sent to this scope, so an unchanged list is not resent. */
  resources?: string;
}

const frame = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

/**
 * `GET /apis/inferd.dev/v1/watch`: Server-Sent Events over a plain GET, so the page
 * reads it with fetch() and sends its Authorization header (EventSource cannot).
 * One producer for all watchers, driven by the dashboard's 1 s tick: `top` each tick,
 * `resources` on connect and when the InferenceServices' state changes, `: ping`
 * every 15 s. Work per tick is per namespace scope, not per watcher.
 */
export class WatchHub {
  private readonly scopes = new Map<string, Scope>();
  private count = 0;
  private fingerprint = '';
  private dirty = false;
  private fullAt = 0;
  private pingAt = Date.now();

  constructor(private readonly deps: { control: ControlPlane; router: ModelRouter; observability?: Observability }) {}

  get watchers(): number {
    return this.count;
  }

  /** An API write (apply, delete, rollout) happened: look at the resources on the next tick. */
  changed(): void {
    this.dirty = true;
  }

  handle(req: FastifyRequest, reply: FastifyReply): void {
    const p = principalOf(req);
    const who = p?.id ?? 'anonymous';
    if (this.count >= MAX_WATCHERS) throw new InferdError('overloaded', `too many dashboard watchers (${MAX_WATCHERS}); retry later`, { retryAfter: 5 });
    let mine = 0;
    for (const s of this.scopes.values()) for (const w of s.watchers) if (w.principal === who) mine++;
    if (mine >= MAX_WATCHERS_PER_PRINCIPAL) throw new InferdError('overloaded', `too many watch streams for this credential (${MAX_WATCHERS_PER_PRINCIPAL}); close some dashboard tabs`, { retryAfter: 5 });

    const nsKey = !p || p.namespaces === '*' ? '*' : [...new Set(p.namespaces)].sort().join(',');
    const level = !p ? 'all' : roleAllows(p.roles, 'admin') ? 'admin' : roleAllows(p.roles, 'deploy') ? 'deploy' : 'read';
    const key = `${level}|${nsKey}`;
    let scope = this.scopes.get(key);
    if (!scope) {
      const set = nsKey === '*' ? undefined : new Set(nsKey.split(','));
      scope = { allowed: set && ((ns: string) => set.has(ns)), secrets: (ns) => seesSecrets(p, ns), watchers: new Set() };
      this.scopes.set(key, scope);
    }
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      ...(reply.getHeaders() as Record<string, string>),
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'x-accel-buffering': 'no', // proxies (nginx) would otherwise hold events back
    });
    const w: Watcher = { res, principal: who };
    scope.watchers.add(w);
    this.count++;
    const s = scope;
    res.on('close', () => {
      if (!s.watchers.delete(w)) return;
      this.count--;
      if (s.watchers.size === 0) this.scopes.delete(key);
    });
    s.resources ??= frame('resources', this.resourcesOf(s, this.deps.control.listIsvcs()));
    this.write(w, s.resources);
    if (this.deps.observability) this.write(w, frame('top', topView(this.deps.observability, s.allowed)));
  }

  /** Called once a second by the dashboard sampler. Nothing is computed while nobody watches. */
  tick(): void {
    if (this.count === 0) return;
    const now = Date.now();
    const obs = this.deps.observability;
    if (obs) {
      const top = obs.metrics.top();
      for (const s of this.scopes.values()) this.broadcast(s, frame('top', topView(obs, s.allowed, top)));
    }
    const fp = this.routingFingerprint();
    if (fp !== this.fingerprint || this.dirty || now - this.fullAt >= FULL_RECOMPUTE_MS) {
      this.fingerprint = fp;
      this.dirty = false;
      this.fullAt = now;
      const all = this.deps.control.listIsvcs();
      for (const s of this.scopes.values()) {
        const f = frame('resources', this.resourcesOf(s, all));
        if (f !== s.resources) {
          s.resources = f;
          this.broadcast(s, f);
        }
      }
    }
    if (now - this.pingAt >= HEARTBEAT_MS) {
      this.pingAt = now;
      for (const s of this.scopes.values()) this.broadcast(s, ': ping\n\n');
    }
  }

  /** Ends every stream (server shutdown), so closing the server does not wait for them. */
  close(): void {
    for (const s of this.scopes.values()) for (const w of s.watchers) w.res.end();
  }

  private resourcesOf(s: Scope, all: ReturnType<ControlPlane['listIsvcs']>) {
    const items = s.allowed ? all.filter((i) => s.allowed!(i.metadata.namespace ?? 'default')) : all;
    return { apiVersion: 'v1', kind: 'List', items: items.map((i) => (s.secrets(i.metadata.namespace ?? 'default') ? i : redactSecretEnv(i))) };
  }

  /** What the InferenceServices' status follows: each routed revision's state and traffic share. Cheap to build every second. */
  private routingFingerprint(): string {
    const parts: string[] = [];
    const { router } = this.deps;
    for (const main of router.list()) {
      parts.push(`${main.namespace}/${main.name}/${main.revisionName}:${main.state}`);
      for (const t of router.traffic(main.namespace, main.name)) parts.push(`${t.endpoint.revisionName}:${t.endpoint.state}:${t.percent}:${t.tag ?? ''}`);
    }
    return parts.join('|');
  }

  private broadcast(s: Scope, text: string): void {
    for (const w of s.watchers) this.write(w, text);
  }

  private write(w: Watcher, text: string): void {
    if (w.res.destroyed || w.res.writableEnded) return;
    if (w.res.writableLength > MAX_BUFFERED) {
      w.res.destroy();
      return;
    }
    w.res.write(text);
  }
}
