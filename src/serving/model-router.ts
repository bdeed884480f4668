import { InferdError, quote } from '../api/errors.js';
import type { ModelEndpoint } from './model-endpoint.js';
import { pickByPercent, type RoutingHints, type TrafficTarget } from './traffic.js';

interface Route {
  namespace: string;
  name: string;
  targets: TrafficTarget[];
  /** Endpoints reachable by revision or tag even with 0% (a dark canary). */
  endpoints: ModelEndpoint[];
  /** What to answer when nothing can serve: the latest endpoint's state explains why. */
  latest?: ModelEndpoint;
}

/**
 * Maps (namespace, model name) to the endpoint that serves one request, following
 * the InferenceService's traffic split. The reconciler replaces a route in one
 * assignment, so a request sees either the old split or the new one.
 */
export class ModelRouter {
  private readonly routes = new Map<string, Route>();
  /**
   * Set at shutdown: readiness turns false at once so load balancers stop sending, and new
   * requests are refused with 503 + Retry-After while the listener stays open for the drain window.
   */
  draining = false;
  /** Set once the startup pass has put every stored InferenceService on its way (loading, not loaded). */
  started = false;
  private readonly cut = new AbortController();

  /** `strictReadiness` (config `serving.strictReadiness`): see `serverReady`. */
  constructor(private readonly opts: { strictReadiness?: boolean } = {}) {}

  /** Aborted when shutdown's grace period is over (or a second signal came): work still running must end with an error. */
  get cutSignal(): AbortSignal {
    return this.cut.signal;
  }

  /** Ends every request still running with `err`: 503, gRPC UNAVAILABLE, or an error event on a stream. */
  cutAll(err: Error): void {
    this.cut.abort(err);
    for (const r of this.routes.values()) {
      for (const ep of new Set([...r.targets.map((t) => t.endpoint), ...r.endpoints, ...(r.latest ? [r.latest] : [])])) ep.abortInflight(err);
    }
  }

  setRoute(namespace: string, name: string, targets: TrafficTarget[], endpoints: ModelEndpoint[], latest?: ModelEndpoint): void {
    const route: Route = { namespace, name, targets, endpoints };
    if (latest) route.latest = latest;
    this.routes.set(key(namespace, name), route);
  }

  delete(namespace: string, name: string): void {
    this.routes.delete(key(namespace, name));
  }

  /** One endpoint per model: the one taking most traffic, else the latest. `allowed` hides namespaces. */
  list(allowed?: (ns: string) => boolean): ModelEndpoint[] {
    return [...this.routes.values()].filter((r) => !allowed || allowed(r.namespace)).flatMap((r) => {
      const main = [...r.targets].sort((a, b) => b.percent - a.percent)[0]?.endpoint ?? r.latest;
      return main ? [main] : [];
    });
  }

  traffic(namespace: string, name: string): TrafficTarget[] {
    return this.routes.get(key(namespace, name))?.targets ?? [];
  }

  private find(name: string, namespace?: string, allowed?: (ns: string) => boolean): Route {
    let route = !allowed || allowed(namespace ?? 'default') ? this.routes.get(key(namespace ?? 'default', name)) : undefined;
    if (!route && namespace === undefined) {
      const matches = [...this.routes.values()].filter((r) => r.name === name && (!allowed || allowed(r.namespace)));
      if (matches.length === 1) route = matches[0];
    }
    if (!route) throw new InferdError('not_found', `Model with name ${quote(name)} does not exist.`);
    return route;
  }

  /**
   * Chooses the endpoint for one request. `allowed` (the caller's namespaces) makes
   * models elsewhere answer not_found, exactly as if they did not exist.
   */
  resolve(name: string, namespace?: string, hints: RoutingHints = {}, allowed?: (ns: string) => boolean): ModelEndpoint {
    if (this.draining) throw new InferdError('not_ready', 'inferd is shutting down; retry on another replica', { retryAfter: 1 });
    const route = this.find(name, namespace, allowed);
    if (hints.version !== undefined) {
      const ep = route.endpoints.find((e) => e.version === hints.version);
      if (!ep) throw new InferdError('not_found', `Model with name ${quote(name)} has no version ${quote(hints.version)} (serving: ${route.endpoints.map((e) => e.version).join(', ') || 'none'}).`);
      return ep;
    }
    if (hints.tag !== undefined) {
      const tagged = route.targets.find((t) => t.tag === hints.tag)?.endpoint ?? route.endpoints.find((e) => e.revisionName === hints.tag || (hints.tag === 'latest' && e === route.latest));
      if (!tagged) throw new InferdError('not_found', `Model with name ${quote(name)} has no revision tagged ${quote(hints.tag)}.`);
      return tagged;
    }
    const picked = pickByPercent(route.targets, hints.sticky)?.endpoint ?? route.latest;
    if (!picked) throw new InferdError('not_ready', `Model with name ${quote(name)} is not ready.`, { retryAfter: 1 });
    return picked;
  }

  /**
   * Server readiness, as KServe's model server means it: the server can serve (started, not
   * draining), whatever state one tenant's model is in; each model answers its own readiness.
   * Strict readiness (Triton's --strict-readiness) also needs every model's traffic on loaded
   * revisions, so one loading or failed model keeps the whole server unready.
   */
  serverReady(): boolean {
    if (this.draining || !this.started) return false;
    return !this.opts.strictReadiness || this.allModelsReady();
  }

  private allModelsReady(): boolean {
    return [...this.routes.values()].every((r) => {
      const live = r.targets.filter((t) => t.percent > 0);
      return live.length > 0 && live.every((t) => t.endpoint.ready);
    });
  }
}

function key(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}
