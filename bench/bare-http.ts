/**
 * What the bench's bare servers (the floors under inferd's own work) share: `node:http` with
 * keep-alive, the port printed for bench/bare.ts, and a clean exit on SIGTERM so a
 * `--cpu-prof` run writes its profile (bench/cpu-profile.ts).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

export function serveBare(handler: (req: IncomingMessage, res: ServerResponse) => void): void {
  const server = createServer(handler);
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: (server.address() as { port: number }).port })));
  process.on('SIGTERM', () => process.exit(0));
}

/** `handler` with each request's whole body, joined once it has arrived. */
export function serveBodies(handler: (body: Buffer, req: IncomingMessage, res: ServerResponse) => void): void {
  serveBare((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handler(Buffer.concat(chunks), req, res));
  });
}
