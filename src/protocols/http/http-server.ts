import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from '../../observability/logger.js';
import type { ControlPlane } from '../../control/control-plane.js';
import type { MemoryManager } from '../../serving/memory-manager.js';
import type { ModelRouter } from '../../serving/model-router.js';
import type { Limits } from '../v2/rest-codec.js';
import { registerAdminRoutes } from './admin-routes.js';
import { registerLogsRoutes } from './logs-routes.js';
import { frameworkError, installErrorHandling } from './errors.js';
import { registerV1Routes } from './v1-routes.js';
import { readBody } from './read-body.js';
import { registerV2Routes } from './v2-routes.js';
import { fastifySecurityOptions, installHttpSecurity } from '../../security/http-security.js';
import type { Security } from '../../security/security.js';
import { registerOpenAiRoutes } from '../openai/openai-routes.js';
import type { Observability } from '../../observability/observability.js';
import { installHttpObservability, requestIdOf } from '../../observability/http-observability.js';
import { registerTopRoutes } from './top-routes.js';
import { registerUiRoutes } from './ui-routes.js';
import { registerKeyRoutes, registerWhoami } from './dashboard-keys.js';
import { registerDashboardRoutes } from './dashboard-routes.js';
import { trackFreshConnections } from './graceful-close.js';
import { installHostRouting } from './routing.js';

export interface HttpServerOptions {
  router: ModelRouter;
  control: ControlPlane;
  memory: MemoryManager;
  log: Logger;
  limits: Limits & { maxBodyBytes: number };
  /** Where relative storage paths in API-applied manifests resolve. */
  baseDir: string;
  admin: boolean;
  /** Authentication, authorization, limits, TLS, audit; absent in in-process tests that want none. */
  security?: Security;
  /** Metrics, request logs, payload logger, tracing; absent in in-process tests that want none. */
  observability?: Observability;
  /** Host-based routing's domain: `{name}.{namespace}.{domain}` (config `serving.domain`). */
  domain?: string;
  /** The built dashboard (default: INFERD_UI_DIR, else dist/ui). */
  uiDir?: string;
}

export function createHttpServer(opts: HttpServerOptions): FastifyInstance {
  const app = Fastify({
    bodyLimit: opts.limits.maxBodyBytes,
    // Bounded header size and timeouts keep slow or huge requests from holding the server.
    routerOptions: { maxParamLength: 256 },
    frameworkErrors: frameworkError,
    requestTimeout: 120_000,
    keepAliveTimeout: 75_000,
    return503OnClosing: true,
    genReqId: (req) => requestIdOf(req),
    ...fastifySecurityOptions(opts.security),
  });
  // Bodies arrive as bytes: routes parse JSON themselves so the binary extension,
  // YAML and error messages are handled one way.
  trackFreshConnections(app);
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (req, payload, done) => readBody(req, payload, opts.limits.maxBodyBytes, done));
  installErrorHandling(app, opts.log);
  // Draining (after SIGTERM): every answer closes its connection, so pooled clients reconnect
  // (elsewhere, once the load balancer has caught up) instead of reusing one about to close.
  app.addHook('onSend', (_req, reply, payload, done) => {
    if (opts.router.draining) void reply.header('connection', 'close');
    done(null, payload);
  });
  if (opts.observability) installHttpObservability(app, opts.observability);
  if (opts.security) installHttpSecurity(app, opts.security, { router: opts.router, admin: opts.admin });
  if (opts.domain) installHostRouting(app, opts.domain);
  app.get('/', async () => ({ status: 'alive' }));
  registerV2Routes(app, opts.router, opts.limits);
  registerV1Routes(app, opts.router);
  registerOpenAiRoutes(app, opts.router);
  if (opts.admin) registerAdminRoutes(app, opts.control, opts.baseDir);
  if (opts.admin) registerLogsRoutes(app);
  if (opts.admin && opts.observability) registerTopRoutes(app, opts.observability);
  if (opts.admin) registerWhoami(app, opts.security);
  if (opts.admin && opts.security) registerKeyRoutes(app, opts.security);
  // The web dashboard: static files on /ui/ and the server-wide views it reads.
  if (opts.admin) registerDashboardRoutes(app, { control: opts.control, router: opts.router, memory: opts.memory, ...(opts.security ? { security: opts.security } : {}), ...(opts.observability ? { observability: opts.observability } : {}) });
  if (opts.admin) registerUiRoutes(app, opts.uiDir);
  if (opts.admin) app.get('/apis/inferd.dev/v1/memory', async () => ({
    ...opts.memory.stats(),
    models: opts.router.list().map((e) => ({ namespace: e.namespace, name: e.name, revision: e.revisionName, state: e.state, memoryBytes: e.memoryBytes(), lastUsed: new Date(e.lastUsed).toISOString() })),
  }));
  return app;
}
