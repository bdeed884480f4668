import type { FastifyInstance } from 'fastify';
import type { ControlPlane } from '../../control/control-plane.js';
import type { Observability } from '../../observability/observability.js';
import type { Security } from '../../security/security.js';
import type { MemoryManager } from '../../serving/memory-manager.js';
import type { ModelRouter } from '../../serving/model-router.js';
import { registerAuditRoutes } from './dashboard-audit.js';
import { LoadHistory, routedEndpoints } from './dashboard-history.js';
import { ProcessSampler } from './dashboard-process.js';
import { WatchHub } from './dashboard-watch.js';

const INFERD = '/apis/inferd.dev/v1';

export interface DashboardDeps {
  control: ControlPlane;
  router: ModelRouter;
  memory: MemoryManager;
  security?: Security;
  observability?: Observability;
}

/**
 * The admin API the dashboard needs beyond the resource routes: `GET server` (memory,
 * models, load history, process, GPUs), `GET watch` (live updates) and the audit log.
 * One 1 s tick samples the process, records load history and feeds the watchers.
 */
export function registerDashboardRoutes(app: FastifyInstance, deps: DashboardDeps): void {
  const history = new LoadHistory(deps.router, deps.memory);
  const proc = new ProcessSampler();
  const hub = new WatchHub(deps);
  const timer = setInterval(() => {
    history.sample();
    proc.sample();
    hub.tick();
  }, 1000);
  timer.unref();
  app.addHook('preClose', async () => {
    clearInterval(timer);
    proc.close();
    hub.close();
  });
  // API writes change what watchers should see: tell the hub instead of waiting for its periodic recompute.
  app.addHook('onResponse', async (req, reply) => {
    if (req.method !== 'GET' && req.method !== 'HEAD' && reply.statusCode < 400 && req.url.startsWith('/apis/')) hub.changed();
  });

  app.get(`${INFERD}/server`, async () => ({
    memory: deps.memory.stats(),
    models: routedEndpoints(deps.router).map((e) => ({ namespace: e.namespace, name: e.name, revision: e.revisionName, state: e.state, memoryBytes: e.memoryBytes(), lastUsed: new Date(e.lastUsed).toISOString() })),
    history: history.entries(),
    process: proc.process(),
    gpu: proc.gpu(),
    dashboard: { watchers: hub.watchers },
  }));
  app.get(`${INFERD}/watch`, async (req, reply) => {
    // HEAD (fastify adds it for every GET) must not become a stream that never ends.
    if (req.method === 'HEAD') return reply.type('text/event-stream; charset=utf-8').header('cache-control', 'no-cache').send('');
    hub.handle(req, reply);
    return reply;
  });
  if (deps.security) registerAuditRoutes(app, deps.security);
}
