/**
 * OpenTelemetry tracing, loaded only when an OTLP endpoint is configured (the SDK and
 * exporter are ~20 MB of modules that a server without tracing never imports).
 *
 * Spans: `edge` (the HTTP or gRPC request, a SERVER span continuing an incoming W3C
 * `traceparent`), and under it `queue` (waiting in the model queue, batch fill
 * included) and `runtime` (the runtime call, shared by a batch: each request gets its
 * own span with `inferd.batch_size`). Queue and runtime spans are created when the
 * runtime call returns, with their measured start and end times. The request's
 * context reaches the scheduler through an AsyncLocalStorage that only exists while
 * tracing is on.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Span, Tracer, Context, TextMapPropagator } from '@opentelemetry/api';
import type { Logger } from './logger.js';

export interface RequestTrace {
  span: Span;
  ctx: Context;
}

export interface Tracing {
  readonly als: AsyncLocalStorage<RequestTrace>;
  /** An edge span continuing `traceparent` from the incoming headers (or metadata). */
  start(name: string, headers: Record<string, unknown>, attributes: Record<string, string | number>): RequestTrace;
  end(t: RequestTrace, status: number, attributes: Record<string, string | number>, error?: string): void;
  /** Queue and runtime spans for each traced request of one runtime call. */
  ran(contexts: readonly unknown[], queuedMs: readonly number[], computeMs: number, startedAt: number): void;
  /** `traceparent`/`tracestate` for a request sent on (external runtimes). */
  inject(t: RequestTrace | undefined, headers: Record<string, string>): void;
  close(): Promise<void>;
}

const epochMs = (perfNow: number) => performance.timeOrigin + perfNow;

export async function createTracing(opts: { endpoint: string; serviceName: string; sampleRatio: number; version: string; log: Logger }): Promise<Tracing> {
  const api = await import('@opentelemetry/api');
  const { TracerProvider, BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler } = await import('@opentelemetry/sdk-trace');
  const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
  const { resourceFromAttributes } = await import('@opentelemetry/resources');
  const { W3CTraceContextPropagator } = await import('@opentelemetry/core');

  const exporter = new OTLPTraceExporter({ url: opts.endpoint });
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': opts.serviceName, 'service.version': opts.version }),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(opts.sampleRatio) }),
    spanProcessors: [new BatchSpanProcessor({ exporter, scheduledDelayMillis: 1000 })],
  });
  const tracer: Tracer = provider.getTracer('inferd', opts.version);
  const propagator: TextMapPropagator = new W3CTraceContextPropagator();
  const getter = {
    keys: (c: Record<string, unknown>) => Object.keys(c),
    get: (c: Record<string, unknown>, k: string) => {
      const v = c[k];
      return Array.isArray(v) ? v.map(String) : typeof v === 'string' ? v : undefined;
    },
  };
  const als = new AsyncLocalStorage<RequestTrace>();
  opts.log.info({ endpoint: opts.endpoint }, 'tracing: exporting spans over OTLP/HTTP');

  return {
    als,
    start(name, headers, attributes) {
      const parent = propagator.extract(api.ROOT_CONTEXT, headers, getter);
      const span = tracer.startSpan(name, { kind: api.SpanKind.SERVER, attributes }, parent);
      return { span, ctx: api.trace.setSpan(parent, span) };
    },
    end(t, status, attributes, error) {
      t.span.setAttributes(attributes);
      if (error !== undefined || status >= 500) t.span.setStatus({ code: api.SpanStatusCode.ERROR, ...(error ? { message: error } : {}) });
      t.span.end();
    },
    ran(contexts, queuedMs, computeMs, startedAt) {
      contexts.forEach((c, i) => {
        const t = c as RequestTrace | undefined;
        if (!t || !t.span.isRecording()) return;
        const q = queuedMs[i] ?? 0;
        tracer.startSpan('queue', { startTime: epochMs(startedAt - q), attributes: { 'inferd.queue_ms': q } }, t.ctx).end(epochMs(startedAt));
        tracer.startSpan('runtime', { startTime: epochMs(startedAt), attributes: { 'inferd.batch_size': contexts.length } }, t.ctx).end(epochMs(startedAt + computeMs));
      });
    },
    inject(t, headers) {
      if (t) propagator.inject(t.ctx, headers, { set: (c: Record<string, string>, k: string, v: string) => void (c[k] = v) });
    },
    async close() {
      await provider.forceFlush().catch(() => undefined);
      await provider.shutdown().catch(() => undefined);
    },
  };
}
