/**
 * The observability pieces one server shares: the metrics (one registry), the request
 * log policy, the payload logger and (when configured) tracing. Created in
 * `startServer` and passed to the HTTP server, the gRPC server and the reconciler.
 */
import type { LevelWithSilent } from 'pino';
import type { MemoryManager } from '../serving/memory-manager.js';
import type { ModelRouter } from '../serving/model-router.js';
import type { SchedulerObserver } from '../serving/scheduler.js';
import { SERVER_VERSION } from '../version.js';
import type { Logger } from './logger.js';
import { Metrics } from './metrics.js';
import { otlpEndpointOf, observabilitySchema, type ObservabilityConfig } from './observability-config.js';
import { PayloadLogger } from './payload-logger.js';
import type { EndpointRef } from './request-info.js';
import type { Tracing } from './tracing.js';

export interface RequestRecord {
  reqId: string;
  protocol: string;
  namespace: string;
  model: string;
  revision: string;
  status: number;
  ms: number;
  errorClass?: string;
  traceId?: string;
  grpcCode?: number;
}

export class Observability {
  readonly metrics: Metrics;
  readonly payloads: PayloadLogger;
  tracing?: Tracing;
  private readonly logLevel: Exclude<LevelWithSilent, 'silent'> | undefined;
  private readonly sample: number;
  private readonly requestLogOn: boolean;

  constructor(readonly config: ObservabilityConfig, deps: { router: ModelRouter; memory?: MemoryManager; log: Logger }, readonly log: Logger = deps.log) {
    const m = config.metrics;
    this.metrics = new Metrics({ router: deps.router, ...(deps.memory ? { memory: deps.memory } : {}), enabled: m.enabled, kserveNames: m.kserveNames, processMetrics: m.processMetrics, gpu: m.gpu, windowSeconds: m.windowSeconds });
    this.payloads = new PayloadLogger(config.payloadLogger, log.child({ component: 'payload-logger' }), this.metrics.payloadEvents);
    this.logLevel = config.requestLog.level === 'off' ? undefined : config.requestLog.level;
    this.sample = config.requestLog.sampleRate;
    this.requestLogOn = this.logLevel !== undefined && log.isLevelEnabled(this.logLevel);
  }

  /** Starts tracing when an OTLP endpoint is configured (the SDK is imported only then). */
  static async create(config: ObservabilityConfig | undefined, deps: { router: ModelRouter; memory?: MemoryManager; log: Logger }): Promise<Observability> {
    const obs = new Observability(config ?? observabilitySchema.parse({}), deps);
    const endpoint = otlpEndpointOf(obs.config);
    if (endpoint) {
      const { createTracing } = await import('./tracing.js');
      obs.tracing = await createTracing({ endpoint, serviceName: obs.config.tracing.serviceName, sampleRatio: obs.config.tracing.sampleRatio, version: SERVER_VERSION, log: deps.log });
    }
    return obs;
  }

  /** Whether per-request work happens at all (metrics on, a request log, tracing or payload logging). */
  get recording(): boolean {
    return this.metrics.enabled || this.logLevel !== undefined || this.tracing !== undefined || this.config.payloadLogger.enabled;
  }

  /** The scheduler hook of one endpoint: queue/compute/batch histograms, and queue/runtime spans when tracing. */
  schedulerObserver(ref: EndpointRef): SchedulerObserver | undefined {
    const series = this.metrics.enabled ? this.metrics.schedulerSeries(ref) : undefined;
    const tracing = this.tracing;
    if (!series && !tracing) return undefined;
    return {
      ...(tracing ? { context: () => tracing.als.getStore() } : {}),
      ran: (queuedMs, computeMs, contexts, startedAt) => {
        series?.ran(queuedMs, computeMs);
        tracing?.ran(contexts, queuedMs, computeMs, startedAt);
      },
    };
  }

  /** Whether a request with this status gets its log line (checked before the line is built). */
  wantsRequestLog(status: number): boolean {
    if (status >= 500) return true;
    if (!this.requestLogOn) return false;
    return status >= 400 || this.sample >= 1 || Math.random() < this.sample;
  }

  /** The one structured line per request: never bodies, headers or credentials. Server errors at warn or above. */
  logRequest(r: RequestRecord): void {
    const level = r.status >= 500 ? (this.logLevel === 'error' || this.logLevel === 'fatal' ? this.logLevel : 'warn') : this.logLevel;
    if (level !== undefined) this.log[level](r, 'request');
  }

  /** Model load outcome and duration (reconciler). */
  modelLoaded(namespace: string, model: string, ok: boolean, seconds: number): void {
    this.metrics.modelLoads.inc({ namespace, model, outcome: ok ? 'success' : 'failure' });
    if (ok) this.metrics.modelLoadSeconds.observe({ namespace, model }, seconds);
  }

  modelUnloaded(namespace: string, model: string, seconds: number): void {
    this.metrics.modelUnloads.inc({ namespace, model });
    this.metrics.modelUnloadSeconds.observe({ namespace, model }, seconds);
  }

  async close(): Promise<void> {
    await this.tracing?.close();
  }
}
