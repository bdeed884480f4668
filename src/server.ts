import type { FastifyInstance } from 'fastify';
import { InferdError } from './api/errors.js';
import type * as grpc from '@grpc/grpc-js';
import { threadCounts, type Config } from './config/config.js';
import { ControlPlane } from './control/control-plane.js';
import { ManifestSync } from './control/manifest-sync.js';
import { Reconciler } from './control/reconciler.js';
import { ResourceStore } from './control/store.js';
import { createLogger, type Logger } from './observability/logger.js';
import { startMetricsServer } from './observability/http-observability.js';
import { Observability } from './observability/observability.js';
import { bindGrpc, createGrpcServer } from './protocols/grpc/grpc-server.js';
import { createHttpServer } from './protocols/http/http-server.js';
import { closeGracefully } from './protocols/http/graceful-close.js';
import { MemoryManager } from './serving/memory-manager.js';
import { ModelRouter } from './serving/model-router.js';
import { Security } from './security/security.js';
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
 * Starts inferd: the store and manifests first (a broken manifest stops the start),
 * then the ports (liveness answers at once, readiness follows the models).
 * Closes in reverse order.
 */
export async function startServer(config: Config, opts: ServerOptions): Promise<RunningServer> {
  const log = opts.log ?? createLogger(config.logLevel);
  const store = new ResourceStore(config.dataDir);
  const router = new ModelRouter();
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
    security = new Security(config, log, { annotations: (ns, name) => control.getIsvc(ns, name).metadata.annotations, ...(redis ? { redis } : {}) });
    await security.bootstrap();
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
  reconciler.start();
  if (opts.watch !== false) sync.watch();
  const grpcSrv = grpcServer;
  const httpSrv = http;
  return {
    httpPort,
    grpcPort,
    ...(metricsPort === undefined ? {} : { metricsPort }),
    observability,
    control,
    router,
    log,
    cut() {
      router.cutAll(new InferdError('not_ready', 'inferd is shutting down; retry on another replica', { retryAfter: 1 }));
      // The errors are answered on the next ticks; connections still open after that (a client not reading) are dropped.
      setTimeout(() => {
        httpSrv.server.closeAllConnections();
        grpcSrv.forceShutdown();
      }, 250).unref();
    },
    async close() {
      // Kubernetes' order: not ready first, then stop accepting, then let in-flight work finish.
      router.draining = true;
      await sync.close();
      await closeGracefully(httpSrv);
      await new Promise<void>((resolve) => grpcSrv.tryShutdown(() => resolve()));
      await reconciler.close();
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
