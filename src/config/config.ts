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

const port = z.number().int().min(0).max(65535);

/** inferd's own settings: one validated object, built from file, then flags; passed down. */
export const configSchema = z.strictObject({
  host: z.string().default('127.0.0.1'),
  httpPort: port.default(8080),
  grpcPort: port.default(8081),
  dataDir: z.string().default('.inferd'),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /**
   * After SIGTERM/SIGINT: readiness turns false at once, new connections are refused and work
   * in flight may finish for this long; what still runs then ends with 503 / UNAVAILABLE / a
   * stream error event. Keep it below Kubernetes' terminationGracePeriodSeconds (default 30).
   */
  shutdownGraceSeconds: z.number().positive().default(25),
  storage: z
    .strictObject({
      pvcs: z.record(z.string(), z.string()).default({}),
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
    .default({ pvcs: {} }),
  limits: z
    .strictObject({
      maxBodyBytes: z.number().int().min(1024).default(64 * 1024 * 1024),
      maxTensorElements: z.number().int().min(1).default(64 * 1024 * 1024),
    })
    .default({ maxBodyBytes: 64 * 1024 * 1024, maxTensorElements: 64 * 1024 * 1024 }),
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
    })
    .default({ maxQueue: 256, concurrency: 2, requestTimeoutSeconds: 60, cacheMaxBytes: 64 * 1024 * 1024, cacheTtlSeconds: 300, idleUnloadSeconds: 300, onDemandLoad: 'lazy', domain: 'inferd.local', minResidencySeconds: 5, stableWindowSeconds: 60, panicWindowSeconds: 6, autoscaleTickSeconds: 2 }),
  /** Authentication, authorization, rate limits, TLS, request limits and audit (docs/security.md). */
  security: securitySchema,
  /** Metrics, request logs, payload logging and tracing (docs/observability.md). */
  observability: observabilitySchema,
  /** Shared state between inferd processes: rate-limit buckets and the prediction cache (docs/configuration.md). */
  redis: redisSchema,
});
export type Config = z.infer<typeof configSchema>;

export interface ThreadCounts {
  intraOp: number;
  interOp: number;
}

/**
 * The one place native thread counts are decided. Measured on 2 cores (see
 * `npm run bench`): one intra-op thread per core left after the event loop's,
 * one inter-op thread; configuration overrides both.
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
  resolveSecurityPaths(config.security, (p) => resolve(base, p));
  return config;
}
