import type { Command } from 'commander';
import { loadConfigFile, parseConfig, type Config } from '../config/config.js';
import { startServer } from '../server.js';

interface ServeOptions {
  file: string[];
  config?: string;
  dataDir?: string;
  host?: string;
  httpPort?: string;
  grpcPort?: string;
  logLevel?: string;
  watch: boolean;
}

function port(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${flag} must be a port number (0-65535), got "${value}"`);
  return n;
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('serve the InferenceServices and ServingRuntimes in the given manifests')
    .option('-f, --file <path>', 'manifest file or directory (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--config <file>', "inferd's own settings (YAML)")
    .option('--data-dir <dir>', 'state directory')
    .option('--host <host>', 'address to listen on (default 127.0.0.1)')
    .option('--http-port <port>', 'HTTP port (default 8080; 0 picks a free one)')
    .option('--grpc-port <port>', 'gRPC port (default 8081; 0 picks a free one)')
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent')
    .option('--no-watch', 'do not re-apply the -f paths when they change')
    .action(async (opts: ServeOptions) => {
      const config: Config = opts.config ? await loadConfigFile(opts.config) : parseConfig({}, 'defaults');
      if (opts.dataDir) config.dataDir = opts.dataDir;
      if (opts.host) config.host = opts.host;
      if (opts.httpPort !== undefined) config.httpPort = port(opts.httpPort, '--http-port');
      if (opts.grpcPort !== undefined) config.grpcPort = port(opts.grpcPort, '--grpc-port');
      if (opts.logLevel) config.logLevel = parseConfig({ logLevel: opts.logLevel }, '--log-level').logLevel;
      const server = await startServer(config, { manifests: opts.file, watch: opts.watch });
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) process.exit(1);
        stopping = true;
        server.log.info({ signal }, 'shutting down');
        server.close().then(() => process.exit(0), () => process.exit(1));
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
    });
}
