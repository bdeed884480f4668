import type { FastifyInstance } from 'fastify';

/**
 * Closes the HTTP server the way a draining replica should: new connections are refused at
 * once and requests in flight finish, while a request arriving on an already-open keep-alive
 * connection (a load balancer's readiness probe, say) is answered — fastify's 503 with
 * `Connection: close` — instead of finding its connection reset, which Node's `close()` does
 * to every idle connection at the same instant. Idle connections are reaped every `reapMs`
 * meanwhile, so the close still completes.
 */
export async function closeGracefully(app: FastifyInstance, reapMs = 100): Promise<void> {
  const server = app.server;
  const reap = server.closeIdleConnections.bind(server);
  server.closeIdleConnections = () => undefined;
  const timer = setInterval(reap, reapMs);
  try {
    await app.close();
  } finally {
    clearInterval(timer);
    server.closeIdleConnections = reap;
  }
}
