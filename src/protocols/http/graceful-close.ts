import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';

/** Connections that have not sent a byte yet, by server, with when they were accepted. */
const fresh = new WeakMap<Server, Map<Socket, number>>();

/**
 * Remembers each connection until its first byte arrives. Node's `closeIdleConnections`
 * only knows connections that finished a request, so one opened and never used (a load
 * balancer's spare, an HTTP client's pre-connected socket) would hold a shutdown for the
 * whole grace period.
 */
export function trackFreshConnections(app: FastifyInstance): void {
  const sockets = new Map<Socket, number>();
  fresh.set(app.server, sockets);
  app.server.on('connection', (socket: Socket) => {
    sockets.set(socket, Date.now());
    const forget = () => sockets.delete(socket);
    socket.once('data', forget);
    socket.once('close', forget);
  });
}

/**
 * Closes the HTTP server the way a draining replica should: new connections are refused at
 * once and requests in flight finish, while a request arriving on an already-open keep-alive
 * connection (a load balancer's readiness probe, say) is answered — fastify's 503 with
 * `Connection: close` — instead of finding its connection reset, which Node's `close()` does
 * to every idle connection at the same instant. Idle connections are reaped every `reapMs`
 * meanwhile, and connections that never sent a byte are closed once they have had
 * `freshGraceMs` (since they opened or since the close began) to send one, so the close
 * still completes.
 */
export async function closeGracefully(app: FastifyInstance, reapMs = 100, freshGraceMs = 1000): Promise<void> {
  const server = app.server;
  const reap = server.closeIdleConnections.bind(server);
  server.closeIdleConnections = () => undefined;
  const closing = Date.now();
  const unused = fresh.get(server);
  const timer = setInterval(() => {
    reap();
    const now = Date.now();
    for (const [socket, openedAt] of unused ?? []) {
      if (now - Math.max(openedAt, closing) >= freshGraceMs && socket.bytesRead === 0) socket.destroy();
    }
  }, reapMs);
  try {
    await app.close();
  } finally {
    clearInterval(timer);
    server.closeIdleConnections = reap;
  }
}
