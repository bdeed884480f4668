/**
 * Fastify hooks for observability, installed once on the root instance:
 * - every response carries `x-request-id` (the caller's, when it is a sane token, else a UUID);
 * - inference routes (V1 predict, V2 infer, OpenAI) are counted and timed per endpoint,
 *   logged in one line, payload-logged where an InferenceService asks, and traced.
 * Label values come from the endpoint that answered (`inferd-revision` header or
 * `markEndpoint`), never from the URL or body.
 */
import { AsyncResource } from 'node:async_hooks';
import { createServer, type Server } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { REVISION_HEADER, namespaceOf } from '../protocols/http/routing.js';
import type { Protocol } from './metrics.js';
import { UNKNOWN } from './metrics.js';
import type { Observability } from './observability.js';
import { endpointOf, errorClassOf, mayLabelByName, type EndpointRef } from './request-info.js';
import { allowedOf } from '../security/principal.js';
import type { RequestTrace } from './tracing.js';
import { routeFacts } from '../protocols/http/route-facts.js';
import { keepInPlace } from '../serving/replicas/movable.js';

const REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/** The request id: `X-Request-Id` when it is a plain token of at most 128 characters, else a new UUID. */
export function requestIdOf(raw: { headers: Record<string, string | string[] | undefined> }): string {
  const v = raw.headers['x-request-id'];
  return typeof v === 'string' && REQUEST_ID.test(v) ? v : crypto.randomUUID();
}

const TRACE = Symbol('inferd.trace');
const SCOPE = Symbol('inferd.traceScope');
type Traced = { [TRACE]?: RequestTrace; [SCOPE]?: AsyncResource };

/** The hooks, and `GET /metrics` when metrics are on and served on the main port. */
export function installHttpObservability(app: FastifyInstance, obs: Observability): void {
  const { metrics, tracing, payloads } = obs;
  if (obs.config.metrics.enabled && obs.config.metrics.mainPort) registerMetricsRoute(app, obs);
  const protocolOf = (req: FastifyRequest): Protocol | null => routeFacts(req).protocol;

  /** The endpoint that answered, or one found by the URL's model name for requests refused before the route (auth, rate limit). */
  const refOf = (req: FastifyRequest, reply: FastifyReply): EndpointRef | undefined => {
    const marked = endpointOf(req);
    if (marked) return marked;
    const rev = reply.getHeader(REVISION_HEADER);
    if (typeof rev === 'string') return metrics.endpointByRevision(rev, namespaceOf(req));
    if (!mayLabelByName(errorClassOf(req))) return undefined;
    const name = (req.params as { name?: unknown } | undefined)?.name;
    return typeof name === 'string' ? metrics.endpointByName(name, namespaceOf(req), allowedOf(req)) : undefined;
  };

  app.addHook('onRequest', (req, reply, done) => {
    void reply.header('x-request-id', req.id);
    if (tracing && protocolOf(req)) {
      const route = routeFacts(req).url ?? '';
      const t = tracing.start(`${req.method} ${route}`, req.headers, { 'http.request.method': req.method, 'http.route': route, 'inferd.request_id': req.id });
      (req as Traced)[TRACE] = t;
      // The body arrives on socket events outside this context: re-enter it in preValidation (as @fastify/request-context does).
      tracing.als.run(t, () => {
        const scope = new AsyncResource('inferd-request');
        (req as Traced)[SCOPE] = scope;
        scope.runInAsyncScope(done, req.raw);
      });
      return;
    }
    done();
  });

  if (tracing) {
    app.addHook('preValidation', (req, _reply, done) => {
      const scope = (req as Traced)[SCOPE];
      if (scope) scope.runInAsyncScope(done, req.raw);
      else done();
    });
  }

  if (payloads && obs.config.payloadLogger.enabled) {
    // The logger reads the body after the answer: it must not have moved to a replica.
    app.addHook('preHandler', (req, _reply, done) => {
      if (payloads.active && Buffer.isBuffer(req.body)) keepInPlace(req.body.buffer);
      done();
    });
    app.addHook('onSend', (req, reply, payload, done) => {
      if (!payloads.active || !protocolOf(req)) return done(null, payload);
      const ref = refOf(req, reply);
      const target = ref && payloads.targetFor(ref);
      if (ref && target) {
        const ct = reply.getHeader('content-type');
        payloads.capture(target, ref, req.id, req.body, payload, typeof ct === 'string' ? ct : undefined, req.headers);
      }
      done(null, payload);
    });
  }

  app.addHook('onResponse', (req, reply, done) => {
    const protocol = protocolOf(req);
    if (!protocol) return done();
    const status = reply.statusCode;
    const ms = reply.elapsedTime;
    const cls = errorClassOf(req);
    const ref = refOf(req, reply);
    if (metrics.enabled) metrics.seriesFor(ref, protocol).done(status, ms / 1000, cls);
    const t = (req as Traced)[TRACE];
    if (t) {
      tracing!.end(t, status, { 'http.response.status_code': status, 'inferd.namespace': ref?.namespace ?? UNKNOWN, 'inferd.model': ref?.name ?? UNKNOWN, 'inferd.revision': ref?.revisionName ?? UNKNOWN }, cls);
      delete (req as Traced)[SCOPE];
    }
    if (obs.wantsRequestLog(status)) obs.logRequest({
      reqId: req.id, protocol, namespace: ref?.namespace ?? UNKNOWN, model: ref?.name ?? UNKNOWN, revision: ref?.revisionName ?? UNKNOWN,
      status, ms: Math.round(ms * 1000) / 1000,
      ...(cls ? { errorClass: cls } : {}),
      ...(t ? { traceId: t.span.spanContext().traceId } : {}),
    });
    done();
  });
}

/** The trace of the request being handled (for `traceparent` on calls to external runtimes). */
export function traceHeaders(obs: Observability | undefined, req: FastifyRequest): Record<string, string> {
  const headers: Record<string, string> = {};
  const t = (req as Traced)[TRACE];
  if (obs?.tracing && t) obs.tracing.inject(t, headers);
  else if (typeof req.headers.traceparent === 'string') {
    // Tracing off here: pass the caller's context on unchanged.
    headers.traceparent = req.headers.traceparent;
    if (typeof req.headers.tracestate === 'string') headers.tracestate = req.headers.tracestate;
  }
  return headers;
}

/**
 * `GET /metrics` on the main port (when configured). It names every namespace and model, so
 * with auth on it needs the `metrics` permission (admin, or a `metrics` scrape key) unless
 * the operator opens it (`observability.metrics.public`, still subject to `security.publicHealth`).
 */
export function registerMetricsRoute(app: FastifyInstance, obs: Observability): void {
  app.get('/metrics', { config: { permission: obs.config.metrics.public ? 'public' : 'metrics' } }, async (_req, reply) => {
    const text = await obs.metrics.render();
    return reply.type(obs.metrics.contentType).send(text);
  });
}

/** A separate plain HTTP listener that serves only /metrics (observability.metrics.port). */
export async function startMetricsServer(obs: Observability, host: string, port: number): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'only GET /metrics here' }));
      return;
    }
    obs.metrics.render().then(
      (text) => res.writeHead(200, { 'content-type': obs.metrics.contentType }).end(text),
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return { server, port: (server.address() as { port: number }).port };
}
