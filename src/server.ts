import type { FastifyInstance } from 'fastify';
import { setTimeout as sleep } from 'node:timers/promises';
import { InferdError } from './api/errors.js';
import type * as grpc from '@grpc/grpc-js';
import { threadCounts, type Config } from './config/config.js';
import { ControlPlane } from './control/control-plane.js';
import { ManifestSync } from './control/manifest-sync.js';
import { Reconciler } from './control/reconciler.js';
import { ResourceStore } from './control/store.js';
import { storeHistoryGaps, storeLostHistory } from './control/store-history.js';
import { createLogger, type Logger } from './observability/logger.js';
import { startMetricsServer } from './observability/http-observability.js';
import { Observability } from './observability/observability.js';
import { bindGrpc, createGrpcServer } from './protocols/grpc/grpc-server.js';
import { createHttpServer } from './protocols/http/http-server.js';
import { closeGracefully } from './protocols/http/graceful-close.js';
import { setServingHeapGrowth } from './serving/heap-growth.js';
import { MemoryManager } from './serving/memory-manager.js';
import { ModelRouter } from './serving/model-router.js';
import { auditPath, Security } from './security/security.js';
import { grpcCredentials, startRedirect } from './security/tls.js';
import { SharedRedis } from './shared-state/redis.js';
import { redisUrlOf } from './shared-state/redis-config.js';
import { SharedPredictionStore } from './shared-state/shared-prediction-cache.js';

export interface ServerOptions {
  /** `serve -f` paths: applied at start and watched. */
  manifests: readonly string[];
  watch?: boolean;
  /** The admin API (resources, rollouts); off in KServe model-server mode. */
  admin?: boolean;
  log?: Logger;
  /** `serve --allow-store-reset`: start on a store that lost its history (audited) instead of refusing. */
  allowStoreReset?: boolean;
}

export interface RunningServer {
  httpPort: number;
  grpcPort: number;
  /** The separate metrics port (observability.metrics.port), when configured. */
  metricsPort?: number;
  observability: Observability;
  control: ControlPlane;
  router: ModelRouter;
  log: Logger;
  close(): Promise<void>;
  /** Ends the work still in flight with errors (shutdown's grace period is over); `close()` then completes. */
  cut(): void;
}

/**
 * Starts inferd: the store (refused when it lost history) and manifests first (a broken
 * manifest stops the start), then the ports (liveness answers at once, readiness once the
 * startup pass has put every model on its way). Closes in reverse order, after a drain window.
 */
export async function startServer(config: Config, opts: ServerOptions): Promise<RunningServer> {
  const heapGrowth = setServingHeapGrowth();
  const log = opts.log ?? createLogger(config.logLevel);
  log.debug({ heapGrowingPercent: heapGrowth.percent, by: heapGrowth.by }, 'V8 old-generation growth after a full GC');
  const store = new ResourceStore(config.dataDir);
  const audited = config.security.audit.enabled ? auditPath(config) : undefined;
  const gaps = storeHistoryGaps(config.dataDir, { created: store.created, version: store.version() }, audited);
  if (gaps.length > 0 && !opts.allowStoreReset) {
    store.close();
    throw storeLostHistory(config.dataDir, gaps);
  }
  const router = new ModelRouter({ strictReadiness: config.serving.strictReadiness });
  const limits = { ...config.limits };
  let baseUrl = '';
  const memory = new MemoryManager({
    ...(config.serving.memoryBudgetBytes === undefined ? {} : { budgetBytes: config.serving.memoryBudgetBytes }),
    idleUnloadMs: config.serving.idleUnloadSeconds * 1000,
    minResidencyMs: config.serving.minResidencySeconds * 1000,
  });
  const observability = await Observability.create(config.observability, { router, memory, log });
  const redisUrl = redisUrlOf(config);
  const redis = redisUrl ? new SharedRedis(redisUrl, config.redis, log, observability.metrics.registry) : undefined;
  await redis?.connect();
  const sharedCache = redis ? new SharedPredictionStore(redis, config.redis.cacheMaxValueBytes) : undefined;
  const reconciler = new Reconciler({ router, memory, store, config, threads: threadCounts(config), log, baseUrl: () => baseUrl, observability, ...(sharedCache ? { sharedCache } : {}) });
  const control = new ControlPlane(store, reconciler, log);
  const sync = new ManifestSync(opts.manifests, control, log);
  let http: FastifyInstance | undefined;
  let grpcServer: grpc.Server | undefined;
  let security: Security | undefined;
  let redirect: import('node:http').Server | undefined;
  let metricsServer: import('node:http').Server | undefined;
  try {
    await sync.sync();
    security = new Security(config, log, { annotations: (ns, name) => control.getIsvc(ns, name).metadata.annotations, storeVersion: () => store.version(), ...(redis ? { redis } : {}) });
    if (gaps.length > 0) {
      log.warn({ gaps }, 'starting on a store that lost its history (--allow-store-reset)');
      security.recordChange({ principal: 'inferd', action: 'store.reset', resource: 'inferd.db', outcome: 'success', details: { gaps: gaps.join('; ').slice(0, 500) } });
    }
    await security.bootstrap({ allowStoreReset: opts.allowStoreReset === true });
    http = createHttpServer({ router, control, memory, log, limits, baseDir: process.cwd(), admin: opts.admin !== false, security, observability, domain: config.serving.domain });
    grpcServer = createGrpcServer({ router, log, limits, security, observability });
    await http.listen({ host: config.host, port: config.httpPort });
  } catch (err) {
    await http?.close();
    await security?.close();
    await redis?.close();
    store.close();
    throw err;
  }
  const httpPort = (http.server.address() as { port: number }).port;
  let grpcPort: number;
  try {
    grpcPort = await bindGrpc(grpcServer, config.host, config.grpcPort, grpcCredentials(config.security.tls).creds);
    if (config.security.tls?.redirectHttpPort !== undefined) redirect = await startRedirect(config.host, config.security.tls.redirectHttpPort, () => httpPort);
    if (config.observability.metrics.enabled && config.observability.metrics.port !== undefined) metricsServer = (await startMetricsServer(observability, config.host, config.observability.metrics.port)).server;
  } catch (err) {
    await http.close();
    await security?.close();
    await redis?.close();
    store.close();
    throw err;
  }
  baseUrl = `${config.security.tls ? 'https' : 'http'}://${config.host.includes(':') ? `[${config.host}]` : config.host}:${httpPort}`;
  const metricsPort = metricsServer ? (metricsServer.address() as { port: number }).port : undefined;
  log.info({ httpPort, grpcPort, ...(metricsPort === undefined ? {} : { metricsPort }), host: config.host }, `inferd listening: HTTP ${baseUrl}, gRPC ${config.host}:${grpcPort}`);
  void reconciler.start().then(() => {
    router.started = true;
  });
  if (opts.watch !== false) sync.watch();
  const grpcSrv = grpcServer;
  const httpSrv = http;
  const endDrain = new AbortController();
  return {
    httpPort,
    grpcPort,
    ...(metricsPort === undefined ? {} : { metricsPort }),
    observability,
    control,
    router,
    log,
    cut() {
      endDrain.abort();
      router.cutAll(new InferdError('not_ready', 'inferd is shutting down; retry on another replica', { retryAfter: 1 }));
      // The errors are answered on the next ticks; connections still open after that (a client not reading) are dropped.
      setTimeout(() => {
        httpSrv.server.closeAllConnections();
        grpcSrv.forceShutdown();
      }, 250).unref();
    },
    async close() {
      // Kubernetes' order: not ready first; for the drain window the listener stays open, so
      // probes and pooled connections get 503 (new work: Retry-After, Connection: close) rather
      // than a refused or reset connection while endpoints update; then stop accepting and let
      // in-flight work finish.
      router.draining = true;
      await sync.close();
      await sleep(Math.min(config.shutdownDrainSeconds, config.shutdownGraceSeconds) * 1000, undefined, { signal: endDrain.signal }).catch(() => undefined);
      await closeGracefully(httpSrv);
      await new Promise<void>((resolve) => grpcSrv.tryShutdown(() => resolve()));
      await reconciler.close(router.cutSignal);
      memory.close();
      redirect?.close();
      metricsServer?.close();
      await security?.close();
      await redis?.close();
      await observability.close();
      store.close();
      log.flush();
    },
  };
}
