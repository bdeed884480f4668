import { createServer, type Server, type Socket } from 'node:net';

/** A storage endpoint that accepts TCP connections and never answers: a tenant's hostile or broken S3/HTTP server. */
export async function blackHole(): Promise<{ server: Server; port: number; connected: Promise<void> }> {
  const sockets: Socket[] = [];
  let connected!: () => void;
  const first = new Promise<void>((r) => (connected = r));
  const server = createServer((s) => {
    sockets.push(s);
    s.on('error', () => undefined);
    connected();
  });
  server.on('close', () => sockets.forEach((s) => s.destroy()));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const close = server.close.bind(server);
  server.close = (cb) => {
    sockets.forEach((s) => s.destroy());
    return close(cb);
  };
  return { server, port: (server.address() as { port: number }).port, connected: first };
}
