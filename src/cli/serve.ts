import { mkdtempSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { parse } from 'yaml';
import { loadConfigFile, parseConfig, type Config } from '../config/config.js';
import { startServer } from '../server.js';
import { detectFormat, modelServerManifest } from './model-server.js';

interface ServeOptions {
  file: string[];
  config?: string;
  dataDir?: string;
  host?: string;
  httpPort?: string;
  grpcPort?: string;
  logLevel?: string;
  auth?: string;
  watch: boolean;
  modelName?: string;
  modelDir?: string;
  modelFormat?: string;
  strictReadiness?: boolean;
  shutdownDrainSeconds?: string;
  allowStoreReset?: boolean;
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
    .option('--auth <mode>', 'none|keys|oidc|keys+oidc (overrides security.auth; default keys, none in KServe model-server mode)')
    .option('--no-watch', 'do not re-apply the -f paths when they change')
    .option('--model-name <name>', "KServe model-server mode: serve one model (also --model_name)")
    .option('--model-dir <dir>', 'KServe model-server mode: the model directory (also --model_dir)')
    .option('--strict-readiness', 'server readiness also needs every model ready (serving.strictReadiness; default in model-server mode)')
    .option('--no-strict-readiness', 'server readiness means the server can serve, whatever state each model is in')
    .option('--shutdown-drain-seconds <s>', 'after SIGTERM, keep the listener open answering 503 this long (shutdownDrainSeconds, default 5)')
    .option('--allow-store-reset', 'start even if the store lost its history (a deleted WAL, an old copy): audited; see docs/security.md')
    .option('--model-format <format>', 'format of --model-dir when the files do not tell (onnx, sklearn, xgboost, lightgbm, tensorflow, gguf)')
    .action(async (opts: ServeOptions) => {
      const config: Config = opts.config ? await loadConfigFile(opts.config) : parseConfig({}, 'defaults');
      if (opts.dataDir) config.dataDir = opts.dataDir;
      if (opts.host) config.host = opts.host;
      if (opts.httpPort !== undefined) config.httpPort = port(opts.httpPort, '--http-port');
      if (opts.grpcPort !== undefined) config.grpcPort = port(opts.grpcPort, '--grpc-port');
      if (opts.auth) config.security.auth = parseConfig({ security: { auth: opts.auth } }, '--auth').security.auth;
      if (opts.logLevel) config.logLevel = parseConfig({ logLevel: opts.logLevel }, '--log-level').logLevel;
      if (opts.strictReadiness !== undefined) config.serving.strictReadiness = opts.strictReadiness;
      if (opts.shutdownDrainSeconds !== undefined) config.shutdownDrainSeconds = parseConfig({ shutdownDrainSeconds: Number(opts.shutdownDrainSeconds) }, '--shutdown-drain-seconds').shutdownDrainSeconds;
      let manifests = opts.file;
      let admin = true;
      if (opts.modelDir !== undefined) {
        // KServe's runtimes are started as `--model_name=NAME --model_dir=/mnt/models --http_port=8080`:
        // one model, no stored resources and no admin API, state in a throwaway directory.
        const format = opts.modelFormat ?? (await detectFormat(opts.modelDir));
        if (!opts.dataDir) config.dataDir = mkdtempSync(join(tmpdir(), 'inferd-model-server-'));
        const file = join(config.dataDir, 'model-server.yaml');
        writeFileSync(file, modelServerManifest(opts.modelName ?? 'model', opts.modelDir, format));
        manifests = [file];
        admin = false;
        if (opts.host === undefined) config.host = '0.0.0.0';
        // KServe's model servers leave authentication to the cluster's ingress, and its clients
        // call them without credentials: so does this mode unless auth is chosen explicitly.
        if (opts.auth === undefined && !(opts.config && (await configSets(opts.config, 'security', 'auth')))) config.security.auth = 'none';
        // One model per server: the server is ready when its model is, as KServe's own model servers.
        if (opts.strictReadiness === undefined && !(opts.config && (await configSets(opts.config, 'serving', 'strictReadiness')))) config.serving.strictReadiness = true;
      }
      const server = await startServer(config, { manifests, watch: opts.watch && admin, admin, allowStoreReset: opts.allowStoreReset === true });
      // Kubernetes' termination: not ready at once, the listener answers 503 for the drain window,
      // then closes; in-flight work finishes within shutdownGraceSeconds; at the deadline or on a
      // second signal the rest ends with errors.
      // Either way the store and audit log are closed cleanly before exit 0.
      let stopping = false;
      const cut = (why: string) => {
        server.log.warn({ reason: why }, 'shutdown: ending the work still in flight');
        server.cut();
      };
      const stop = (signal: string) => {
        if (stopping) return cut(`second ${signal}`);
        stopping = true;
        server.log.info({ signal, graceSeconds: config.shutdownGraceSeconds, drainSeconds: Math.min(config.shutdownDrainSeconds, config.shutdownGraceSeconds) }, 'shutting down');
        const deadline = setTimeout(() => cut('grace period over'), config.shutdownGraceSeconds * 1000);
        server.close().then(() => {
          clearTimeout(deadline);
          process.exit(0);
        }, (err: Error) => {
          server.log.error({ err: err.message }, 'shutdown failed');
          process.exit(1);
        });
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
    });
}

/** Whether a config file names `section.field` itself (rather than taking the default). */
async function configSets(path: string, section: string, field: string): Promise<boolean> {
  const raw = parse(await readFile(path, 'utf8'), { maxAliasCount: 100 }) as Record<string, Record<string, unknown> | undefined> | null;
  return raw?.[section]?.[field] !== undefined;
}
