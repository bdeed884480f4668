import { mkdir } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import type * as grpc from '@grpc/grpc-js';
import type { LoadedResource } from './api/resources/manifest.js';
import { threadCounts, type Config } from './config/config.js';
import { Reconciler } from './control/reconciler.js';
import { createLogger, type Logger } from './observability/logger.js';
import { bindGrpc, createGrpcServer } from './protocols/grpc/grpc-server.js';
import { createHttpServer } from './protocols/http/http-server.js';
import { ModelRouter } from './serving/model-router.js';

export interface RunningServer {
  httpPort: number;
  grpcPort: number;
  reconciler: Reconciler;
  router: ModelRouter;
  log: Logger;
  close(): Promise<void>;
}

/**
 * Starts inferd: ports first (liveness answers at once, readiness follows the
 * models), then applies the startup manifests. Closes in reverse order.
 */
export async function startServer(config: Config, manifests: readonly LoadedResource[], log = createLogger(config.logLevel)): Promise<RunningServer> {
  await mkdir(config.dataDir, { recursive: true });
  const router = new ModelRouter();
  const limits = { ...config.limits };
  let baseUrl = '';
  const reconciler = new Reconciler({ router, config, threads: threadCounts(config), log, baseUrl: () => baseUrl });
  const http: FastifyInstance = createHttpServer({ router, reconciler, log, limits, baseDir: process.cwd() });
  const grpcServer: grpc.Server = createGrpcServer({ router, log, limits });
  await http.listen({ host: config.host, port: config.httpPort });
  const httpPort = (http.server.address() as { port: number }).port;
  let grpcPort: number;
  try {
    grpcPort = await bindGrpc(grpcServer, config.host, config.grpcPort);
  } catch (err) {
    await http.close();
    throw err;
  }
  baseUrl = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${httpPort}`;
  log.info({ httpPort, grpcPort, host: config.host }, `inferd listening: HTTP ${baseUrl}, gRPC ${config.host}:${grpcPort}`);
  reconciler.apply(manifests, process.cwd());
  return {
    httpPort,
    grpcPort,
    reconciler,
    router,
    log,
    async close() {
      await http.close();
      await new Promise<void>((resolve) => grpcServer.tryShutdown(() => resolve()));
      await reconciler.close();
      log.flush();
    },
  };
}
