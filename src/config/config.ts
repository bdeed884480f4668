import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { InferdError } from '../api/errors.js';
import { fieldPath } from '../api/resources/manifest.js';
import { resolveSecurityPaths, securitySchema } from '../security/security-config.js';
import { observabilitySchema } from '../observability/observability-config.js';
import { redisSchema } from '../shared-state/redis-config.js';
import { DEFAULT_MAX_DECODED_BYTES } from '../runtimes/decode-budget.js';
import { DEFAULT_STORAGE_TIMEOUTS } from '../storage/timeouts.js';

const port = z.number().int().min(0).max(65535);

/** inferd's own settings: one validated object, built from file, then flags; passed down. */
export const configSchema = z.strictObject({
  host: z.string().default('127.0.0.1'),
  httpPort: port.default(8080),
  grpcPort: port.default(8081),
  dataDir: z.string().default('.inferd'),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /**
   * After SIGTERM/SIGINT: readiness turns false at once, new work is refused (503) and work
   * in flight may finish for this long; what still runs then ends with 503 / UNAVAILABLE / a
   * stream error event. Keep it below Kubernetes' terminationGracePeriodSeconds (default 30).
   */
  shutdownGraceSeconds: z.number().positive().default(25),
  /**
   * After SIGTERM/SIGINT the HTTP listener stays open this long (at most shutdownGraceSeconds),
   * answering readiness and new requests with 503 (Retry-After, Connection: close), so probes
   * and pooled connections see "not ready" instead of a refused or reset connection while the
   * load balancer catches up; then it closes.
   */
  shutdownDrainSeconds: z.number().min(0).default(5),
  storage: z
    .strictObject({
      pvcs: z.record(z.string(), z.string()).default({}),
      /**
       * Directories `file://` storageUris of API-applied InferenceServices may name (symlinks
       * resolved). Manifests given to `inferd serve -f` may also name files under their own directory.
       */
      fileRoots: z.array(z.string()).default([]),
      /** Bounds of every s3:// and http(s):// storage operation (src/storage/timeouts.ts). */
      timeouts: z
        .strictObject({
          connectSeconds: z.number().positive().default(DEFAULT_STORAGE_TIMEOUTS.connectSeconds),
          idleSeconds: z.number().positive().default(DEFAULT_STORAGE_TIMEOUTS.idleSeconds),
          totalSeconds: z.number().positive().default(DEFAULT_STORAGE_TIMEOUTS.totalSeconds),
        })
        .default({ ...DEFAULT_STORAGE_TIMEOUTS }),
      /** Content-addressed cache of s3:// and http(s):// downloads; default `<dataDir>/storage-cache`. */
      cacheDir: z.string().optional(),
      /** Bound on the cache (LRU cleanup; entries in use are kept); default 10 GiB. */
      cacheMaxBytes: z.number().int().min(0).optional(),
      /** S3 settings; KServe's env names (AWS_ENDPOINT_URL, S3_ENDPOINT, AWS_DEFAULT_REGION, ...) fill what is unset. */
      s3: z
        .strictObject({
          endpoint: z.string().optional(),
          region: z.string().optional(),
          forcePathStyle: z.boolean().optional(),
          verifySsl: z.boolean().optional(),
          /** A Kubernetes Secret (YAML), a flat YAML/JSON map or an AWS credentials (INI) file. */
          credentialsFile: z.string().optional(),
        })
        .optional(),
    })
    .default({ pvcs: {}, fileRoots: [], timeouts: { ...DEFAULT_STORAGE_TIMEOUTS } }),
  limits: z
    .strictObject({
      maxBodyBytes: z.number().int().min(1024).default(64 * 1024 * 1024),
      maxTensorElements: z.number().int().min(1).default(64 * 1024 * 1024),
      /** Bytes one model file may decode into (arrays, compiled trees); a load past it fails. */
      maxModelDecodedBytes: z.number().int().min(1024 * 1024).default(DEFAULT_MAX_DECODED_BYTES),
      /** BYTES elements per tensor: each is an object of its own (~130 bytes), unlike a number in a typed array. */
      maxBytesElements: z.number().int().min(1).default(1024 * 1024),
    })
    .default({ maxBodyBytes: 64 * 1024 * 1024, maxTensorElements: 64 * 1024 * 1024, maxModelDecodedBytes: DEFAULT_MAX_DECODED_BYTES, maxBytesElements: 1024 * 1024 }),
  threads: z
    .strictObject({ intraOp: z.number().int().min(0).optional(), interOp: z.number().int().min(0).optional() })
    .default({}),
  serving: z
    .strictObject({
      /** Requests that may wait per model revision; more are refused with 429. */
      maxQueue: z.number().int().min(1).default(256),
      /** Runtime calls in flight per model revision unless containerConcurrency says otherwise. */
      concurrency: z.number().int().min(1).default(2),
      /** Deadline for a request unless the predictor's `timeout` or the Inferd-Timeout header is shorter. */
      requestTimeoutSeconds: z.number().positive().default(60),
      /** Size and lifetime of each revision's prediction cache, where an InferenceService opts in. */
      cacheMaxBytes: z.number().int().min(0).default(64 * 1024 * 1024),
      cacheTtlSeconds: z.number().positive().default(300),
      /** Bytes all loaded models may hold; on-demand (minReplicas 0) models are evicted LRU to stay under it. */
      memoryBudgetBytes: z.number().int().min(1).optional(),
      /** On-demand models idle this long unload (scale to zero). */
      idleUnloadSeconds: z.number().positive().default(300),
      /**
       * When minReplicas 0 models first load: `lazy` on their first request (ModelMesh), `eager` at
       * start/apply. The annotation `inferd.dev/load` overrides it per InferenceService.
       */
      onDemandLoad: z.enum(['lazy', 'eager']).default('lazy'),
      /** Host-based routing: `{name}.{namespace}.{domain}` selects the namespace, like KServe's ingress domain. */
      domain: z.string().regex(/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/, 'a lowercase DNS name').default('inferd.local'),
      /** A model stays loaded at least this long before it may be evicted (churn guard). */
      minResidencySeconds: z.number().min(0).default(5),
      /** Knative KPA windows for replica autoscaling (minReplicas..maxReplicas). */
      stableWindowSeconds: z.number().positive().default(60),
      panicWindowSeconds: z.number().positive().default(6),
      autoscaleTickSeconds: z.number().positive().default(2),
      /**
       * Server readiness (`/v2/health/ready`, gRPC ServerReady) also needs every InferenceService
       * ready, as Triton's --strict-readiness: one loading or failed model makes the whole server
       * unready. Off: the server is ready when it can serve, and each model answers its own
       * readiness. On by default in KServe model-server mode (one model per server).
       */
      strictReadiness: z.boolean().default(false),
    })
    .default({ maxQueue: 256, concurrency: 2, requestTimeoutSeconds: 60, cacheMaxBytes: 64 * 1024 * 1024, cacheTtlSeconds: 300, idleUnloadSeconds: 300, onDemandLoad: 'lazy', domain: 'inferd.local', minResidencySeconds: 5, stableWindowSeconds: 60, panicWindowSeconds: 6, autoscaleTickSeconds: 2, strictReadiness: false }),
  /** Authentication, authorization, rate limits, TLS, request limits and audit (docs/security.md). */
  security: securitySchema,
  /** Metrics, request logs, payload logging and tracing (docs/observability.md). */
  observability: observabilitySchema,
  /** Shared state between inferd processes: rate-limit buckets and the prediction cache (docs/configuration.md). */
  redis: redisSchema,
  /**
   * What runtimes a non-admin may make inferd run (docs/security.md, "Runtime policy"):
   * command prefixes (`python3 -m kserve_sklearnserver`) and directories a custom module's
   * real path must lie inside. Empty: only admins and `serve -f` manifests run either.
   */
  runtimes: z
    .strictObject({
      allowCommands: z.array(z.string().trim().min(1)).default([]),
      moduleRoots: z.array(z.string().min(1)).default([]),
    })
    .default({ allowCommands: [], moduleRoots: [] }),
});
export type Config = z.infer<typeof configSchema>;
export type RuntimesConfig = Config['runtimes'];

export interface ThreadCounts {
  intraOp: number;
  interOp: number;
}

/**
 * The server's native thread counts. Measured on 2 cores (see `npm run bench`): one
 * intra-op thread per core left after the event loop's, one inter-op thread; configuration
 * overrides both. Per model, from this starting point: serving/replicas/thread-policy.ts
 * (ONNX, by probed cost) and runtimes/llm/llm-threads.ts (GGUF, by libuv pool size).
 */
export function threadCounts(config: Config, cores = availableParallelism()): ThreadCounts {
  return {
    intraOp: config.threads.intraOp ?? Math.max(1, cores - 1),
    interOp: config.threads.interOp ?? 1,
  };
}

export function parseConfig(raw: unknown, source: string): Config {
  const parsed = configSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    const path = i.code === 'unrecognized_keys' ? [...i.path, i.keys[0] ?? ''] : i.path;
    throw new InferdError('invalid_input', `${source}: field ${fieldPath(path)}: ${i.code === 'unrecognized_keys' ? 'unknown field' : i.message}`);
  }
  return parsed.data;
}

/** Reads the config file; relative PVC roots and dataDir resolve against the file's directory. */
export async function loadConfigFile(path: string): Promise<Config> {
  const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new InferdError('not_found', `config file ${path}: ${err.code ?? err.message}`);
  });
  let raw: unknown;
  try {
    raw = parse(text, { maxAliasCount: 100 });
  } catch (err) {
    throw new InferdError('invalid_input', `config file ${path}: invalid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  const config = parseConfig(raw, `config file ${path}`);
  const base = dirname(resolve(path));
  config.dataDir = resolve(base, config.dataDir);
  for (const [name, root] of Object.entries(config.storage.pvcs)) config.storage.pvcs[name] = resolve(base, root);
  config.storage.fileRoots = config.storage.fileRoots.map((root) => resolve(base, root));
  resolveSecurityPaths(config.security, (p) => resolve(base, p));
  config.runtimes.moduleRoots = config.runtimes.moduleRoots.map((r) => resolve(base, r));
  return config;
}
