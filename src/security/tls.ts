import * as grpc from '@grpc/grpc-js';
import { readFileSync, unwatchFile, watchFile, type Stats } from 'node:fs';
import { createServer, type Server as HttpServer } from 'node:http';
import type { Server as TlsServer, SecureContextOptions } from 'node:tls';
import type { Logger } from '../observability/logger.js';
import type { SecurityConfig } from './security-config.js';

export type TlsConfig = NonNullable<SecurityConfig['tls']>;

export function readTlsFiles(cfg: TlsConfig): SecureContextOptions {
  const opts: SecureContextOptions = { cert: readFileSync(cfg.cert), key: readFileSync(cfg.key) };
  if (cfg.ca !== undefined) opts.ca = readFileSync(cfg.ca);
  return opts;
}

/** Options for `https.createServer` (fastify's `https`): server identity plus client-certificate policy. */
export function httpsOptions(cfg: TlsConfig): SecureContextOptions & { requestCert: boolean; rejectUnauthorized: boolean; minVersion: 'TLSv1.2' } {
  if (cfg.clientAuth !== 'none' && cfg.ca === undefined) throw new Error(`security.tls.clientAuth ${cfg.clientAuth} needs security.tls.ca (the CA client certificates must chain to)`);
  return { ...readTlsFiles(cfg), requestCert: cfg.clientAuth !== 'none', rejectUnauthorized: cfg.clientAuth === 'require', minVersion: 'TLSv1.2' };
}

/**
 * Polls the cert/key/ca files and swaps the server's secure context when they change:
 * new handshakes use the new certificate, open connections keep theirs. A half-written
 * pair (key not matching cert) is skipped and retried on the next change.
 */
export function watchTlsFiles(server: TlsServer, cfg: TlsConfig, log: Logger): () => void {
  const files = [cfg.cert, cfg.key, ...(cfg.ca !== undefined ? [cfg.ca] : [])];
  const onChange = (cur: Stats, prev: Stats) => {
    if (cur.mtimeMs === prev.mtimeMs && cur.size === prev.size) return;
    try {
      server.setSecureContext(readTlsFiles(cfg));
      log.info({ cert: cfg.cert }, 'TLS certificate reloaded');
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'TLS certificate files changed but could not be loaded; keeping the previous ones');
    }
  };
  for (const f of files) watchFile(f, { interval: cfg.reloadIntervalMs, persistent: false }, onChange);
  return () => {
    for (const f of files) unwatchFile(f, onChange);
  };
}

/**
 * gRPC server credentials from the same files, reloaded by grpc-js's file-watching
 * certificate provider. (grpc-js's factory takes the identity provider first despite its
 * parameter names; one provider serves both here.)
 */
export function grpcCredentials(cfg: TlsConfig | undefined): { creds: grpc.ServerCredentials; close: () => void } {
  if (!cfg) return { creds: grpc.ServerCredentials.createInsecure(), close: () => {} };
  readTlsFiles(cfg); // fail at start, not at the first handshake
  const provider = new grpc.experimental.FileWatcherCertificateProvider({
    certificateFile: cfg.cert,
    privateKeyFile: cfg.key,
    ...(cfg.clientAuth !== 'none' && cfg.ca !== undefined ? { caCertificateFile: cfg.ca } : {}),
    refreshIntervalMs: cfg.reloadIntervalMs,
  });
  const creds = grpc.experimental.createCertificateProviderServerCredentials(provider, cfg.clientAuth !== 'none' ? provider : null, cfg.clientAuth === 'require');
  return { creds, close: () => {} };
}

/** Optional plain-HTTP listener answering 308 to the HTTPS port (off unless configured). */
export async function startRedirect(host: string, port: number, httpsPort: () => number): Promise<HttpServer> {
  const server = createServer((req, res) => {
    const hostHeader = (req.headers.host ?? host).replace(/:\d+$/, '').replace(/[^A-Za-z0-9.\-[\]:]/g, '');
    res.writeHead(308, { location: `https://${hostHeader}:${httpsPort()}${req.url ?? '/'}`, connection: 'close' }).end();
  });
  server.headersTimeout = 5000;
  server.requestTimeout = 10_000;
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, host, () => resolve()));
  return server;
}
