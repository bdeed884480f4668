import { z } from 'zod';

const level = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'off']);

/**
 * `observability:` in inferd's config file. Defaults come from measurements on 2 cores
 * (bench/metrics-bench.ts; docs/observability.md): metrics on, one request log line
 * per request at `debug` (so the default `info` log level prints none).
 */
export const observabilitySchema = z
  .strictObject({
    metrics: z
      .strictObject({
        /** Off: no /metrics, no per-request accounting (inferd top shows nothing). */
        enabled: z.boolean().default(true),
        /** Also (or only, with `mainPort: false`) serve /metrics on this port; 0 picks a free one. */
        port: z.number().int().min(0).max(65535).optional(),
        /** Serve /metrics on the main HTTP port as well. */
        mainPort: z.boolean().default(true),
        /**
         * With auth on, /metrics on the main port needs the `metrics` permission (admin or a
         * `metrics` scrape key): it names every namespace and model. `true` opens it like the
         * health probes (`security.publicHealth`). The separate `port` listener is always open.
         */
        public: z.boolean().default(false),
        /** KServe's `request_predict_seconds{model_name}` alongside inferd's own names. */
        kserveNames: z.boolean().default(true),
        /** process_*, nodejs_* (CPU, memory, event-loop lag). */
        processMetrics: z.boolean().default(true),
        /** GPU utilization and memory through nvidia-smi when it is present. */
        gpu: z.boolean().default(true),
        /** Sliding window of `inferd top` and the admin API's percentiles. */
        windowSeconds: z.number().int().min(5).max(3600).default(60),
      })
      .prefault({}),
    requestLog: z
      .strictObject({
        /** Level of the one line per request; `off` for none. Errors (5xx) are logged at `warn` or above regardless. */
        level: level.default('debug'),
        /** Share of successful requests logged (0..1); errors are always logged. */
        sampleRate: z.number().min(0).max(1).default(1),
      })
      .prefault({}),
    payloadLogger: z
      .strictObject({
        /** Honour `spec.predictor.logger` (per-InferenceService opt-in). */
        enabled: z.boolean().default(true),
        /** Bodies beyond this are cut (and marked truncated). */
        maxBytes: z.number().int().min(0).default(16 * 1024),
        /** JSON keys whose values are replaced by "[redacted]" (case-insensitive substrings). */
        redactKeys: z.array(z.string()).default(['password', 'secret', 'token', 'apikey', 'api_key', 'authorization', 'credential']),
        /** Events waiting to be sent; beyond it events are dropped (and counted). */
        maxPending: z.number().int().min(1).default(1000),
        timeoutMs: z.number().int().min(1).default(5000),
        /** The only directory `file://` logger URLs may write under (absolute); unset: http(s) sinks only. */
        fileRoot: z.string().optional(),
      })
      .prefault({}),
    tracing: z
      .strictObject({
        /** OTLP/HTTP traces endpoint, e.g. http://127.0.0.1:4318/v1/traces; unset: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT / OTEL_EXPORTER_OTLP_ENDPOINT, else off. */
        otlpEndpoint: z.string().url().optional(),
        serviceName: z.string().default('inferd'),
        /** Share of root traces sampled; a sampled incoming traceparent is always followed. */
        sampleRatio: z.number().min(0).max(1).default(1),
      })
      .prefault({}),
  })
  .prefault({});

export type ObservabilityConfig = z.infer<typeof observabilitySchema>;

/** The OTLP endpoint from the config or the standard OpenTelemetry environment variables. */
export function otlpEndpointOf(cfg: ObservabilityConfig, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (cfg.tracing.otlpEndpoint) return cfg.tracing.otlpEndpoint;
  if (env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  if (env.OTEL_EXPORTER_OTLP_ENDPOINT) return `${env.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/$/, '')}/v1/traces`;
  return undefined;
}
