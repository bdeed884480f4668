/**
 * inferd's metrics: one prom-client Registry per server, created here and passed down.
 *
 * Hot path: per (endpoint, protocol) a `RequestSeries` holds plain numbers (status
 * counts, histogram buckets) found through a WeakMap on the endpoint object, so a
 * request costs a map lookup and a few additions. The families are registered in the
 * registry as collectors that read those numbers at scrape time. Gauges (queue depth,
 * in flight, memory, replicas, state) and the scheduler/cache counters are read from
 * the router's endpoints at scrape time too: no per-request work for them.
 *
 * Label values come from the server only: the endpoint that answered (namespace, name,
 * revision), a fixed protocol list, the status code, the closed error list. A request
 * for a model that does not resolve is counted under `model="_unknown"`.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { Counter, Gauge, Histogram as PromHistogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { MemoryManager } from '../serving/memory-manager.js';
import type { ModelEndpoint } from '../serving/model-endpoint.js';
import type { ModelRouter } from '../serving/model-router.js';
import { renderVllmMetrics, type LlmMetrics } from '../runtimes/llm/llm-metrics.js';
import { SERVER_VERSION } from '../version.js';
import type { ErrorClass, EndpointRef } from './request-info.js';
import { SlidingWindow, type WindowSnapshot } from './sliding-window.js';

/** 50 µs (a small tree model) to 60 s (a long LLM call); the reference's list plus 50 µs. Keep stable: dashboards and alerts compare across versions. */
export const LATENCY_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] as const;
export const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256] as const;
export const LOAD_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600] as const;

/**
 * The period of the event-loop delay monitors (prom-client's, the dashboard's): each is a
 * timer waking the event loop. At prom-client's default of 10 ms and the dashboard's 20, an
 * idle server with an LLM loaded woke 142 times a second and used 1.1% of a core; at 100 ms,
 * 13.5 times and 0.2%. The lag figures keep 10 samples a second.
 */
export const EVENT_LOOP_MONITOR_MS = 100;

export const PROTOCOLS = ['v1', 'v2', 'grpc', 'openai'] as const;
export type Protocol = (typeof PROTOCOLS)[number];
export const UNKNOWN = '_unknown';
const UNKNOWN_REF: EndpointRef = { namespace: UNKNOWN, name: UNKNOWN, revisionName: UNKNOWN };

/** Cumulative-on-render histogram of plain numbers. */
export class FastHistogram {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length);
  }
  observe(v: number): void {
    this.sum += v;
    this.count++;
    const b = this.bounds;
    for (let i = 0; i < b.length; i++) {
      if (v <= b[i]!) {
        this.counts[i]!++;
        return;
      }
    }
  }
}

interface Sample {
  metricName?: string;
  labels: Record<string, string | number>;
  value: number;
}

function histogramSamples(name: string, labels: Record<string, string>, h: { bounds: readonly number[]; counts: ArrayLike<number>; sum: number; count: number }, out: Sample[]): void {
  let acc = 0;
  for (let i = 0; i < h.bounds.length; i++) {
    acc += h.counts[i]!;
    out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: h.bounds[i]! }, value: acc });
  }
  out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: h.count });
  out.push({ metricName: `${name}_sum`, labels, value: h.sum });
  out.push({ metricName: `${name}_count`, labels, value: h.count });
}

/** Requests of one endpoint over one protocol. */
export class RequestSeries {
  readonly codes = new Map<number, number>();
  readonly errors = new Map<ErrorClass, number>();
  readonly latency = new FastHistogram(LATENCY_BUCKETS);
  rateLimited = 0;
  constructor(readonly ref: EndpointRef, readonly protocol: Protocol, readonly window: SlidingWindow | undefined) {}

  /** One finished request: status code, seconds, and the error class when it failed. */
  done(code: number, seconds: number, errorClass?: ErrorClass): void {
    this.codes.set(code, (this.codes.get(code) ?? 0) + 1);
    this.latency.observe(seconds);
    if (errorClass !== undefined) {
      this.errors.set(errorClass, (this.errors.get(errorClass) ?? 0) + 1);
      if (errorClass === 'rate_limited') this.rateLimited++;
    }
    this.window?.record(seconds, code >= 500 || (errorClass !== undefined && code !== 404 && code >= 400));
  }
}

/** Queue wait, runtime call time and batch size of one endpoint (fed by the scheduler). */
export class SchedulerSeries {
  readonly queue = new FastHistogram(LATENCY_BUCKETS);
  readonly compute = new FastHistogram(LATENCY_BUCKETS);
  readonly batch = new FastHistogram(BATCH_BUCKETS);
  constructor(readonly ref: EndpointRef) {}
  ran(queuedMs: readonly number[], computeMs: number): void {
    for (const q of queuedMs) this.queue.observe(q / 1000);
    this.compute.observe(computeMs / 1000);
    this.batch.observe(queuedMs.length);
  }
}

export interface MetricsOptions {
  router: ModelRouter;
  memory?: MemoryManager;
  /** Also record per-request figures (off: /metrics still serves the scrape-time gauges). */
  enabled?: boolean;
  kserveNames?: boolean;
  processMetrics?: boolean;
  gpu?: boolean;
  windowSeconds?: number;
}

export interface TopRow extends WindowSnapshot {
  namespace: string;
  model: string;
  revision: string;
  state: string;
  queued: number;
  running: number;
  memoryBytes: number;
  /** Worker replicas now and as the autoscaler wants them (1/1 for a loaded in-process model). */
  replicas: { current: number; desired: number };
  /** Mean requests per runtime call since the previous sample (about a second); null without calls. */
  batchSize: number | null;
}

type EndpointLike = ModelEndpoint;

const isLlmMetrics = (m: unknown): m is LlmMetrics => typeof m === 'object' && m !== null && 'timeToFirstToken' in m && 'e2eLatency' in m;

const mean = (batches: number, requests: number): number | null => (batches > 0 ? requests / batches : null);

export class Metrics {
  readonly registry = new Registry();
  private readonly batchSamples = new WeakMap<EndpointLike, { at: number; batches: number; requests: number; last: number | null }>();
  readonly enabled: boolean;
  private readonly series = new WeakMap<object, Array<RequestSeries | undefined>>();
  private readonly allSeries: RequestSeries[] = [];
  private readonly schedSeries: SchedulerSeries[] = [];
  private readonly windows = new WeakMap<object, SlidingWindow>();
  private readonly unknownWindow: SlidingWindow;
  private readonly byRevision = new Map<string, EndpointRef>();
  private readonly windowMs: number;
  private snap: EndpointLike[] = [];
  private gpuRows: GpuRow[] = [];
  private gpuAt = 0;
  private readonly nvidiaSmi?: string;

  readonly modelLoads: Counter<'namespace' | 'model' | 'outcome'>;
  readonly modelLoadSeconds: PromHistogram<'namespace' | 'model'>;
  readonly modelUnloads: Counter<'namespace' | 'model'>;
  readonly modelUnloadSeconds: PromHistogram<'namespace' | 'model'>;
  readonly payloadEvents: Counter<'outcome'>;

  constructor(private readonly opts: MetricsOptions) {
    this.enabled = opts.enabled !== false;
    this.windowMs = (opts.windowSeconds ?? 60) * 1000;
    this.unknownWindow = new SlidingWindow(this.windowMs);
    const r = this.registry;
    if (opts.processMetrics !== false) {
      collectDefaultMetrics({ register: r, eventLoopMonitoringPrecision: EVENT_LOOP_MONITOR_MS });
      // Gauges named *_total fail `promtool check metrics`; the per-type nodejs_active_* gauges carry the same numbers.
      for (const n of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) r.removeSingleMetric(n);
    }
    new Gauge({ name: 'inferd_build_info', help: 'inferd version (always 1).', labelNames: ['version'], registers: [r] }).set({ version: SERVER_VERSION }, 1);

    const refLabels = (ref: EndpointRef) => ({ namespace: ref.namespace, model: ref.name, revision: ref.revisionName });
    this.family('inferd_requests_total', 'counter', 'Inference requests answered, by status code (HTTP status; gRPC status for protocol="grpc").', () => {
      const out: Sample[] = [];
      for (const s of this.allSeries) for (const [code, n] of s.codes) out.push({ labels: { ...refLabels(s.ref), protocol: s.protocol, code: String(code) }, value: n });
      return out;
    });
    this.family('inferd_request_duration_seconds', 'histogram', 'Inference request latency from the first byte read to the last byte written.', () => {
      const out: Sample[] = [];
      for (const s of this.allSeries) histogramSamples('inferd_request_duration_seconds', { ...refLabels(s.ref), protocol: s.protocol }, s.latency, out);
      return out;
    });
    this.family('inferd_request_errors_total', 'counter', 'Failed inference requests by error class (invalid_input, not_found, overloaded, rate_limited, timeout, internal, ...).', () => {
      const out: Sample[] = [];
      for (const s of this.allSeries) for (const [cls, n] of s.errors) out.push({ labels: { ...refLabels(s.ref), protocol: s.protocol, class: cls }, value: n });
      return out;
    });
    this.family('inferd_rate_limited_requests_total', 'counter', 'Inference requests refused by a per-key or per-model rate limit (429).', () =>
      this.allSeries.filter((s) => s.rateLimited > 0).map((s) => ({ labels: { ...refLabels(s.ref), protocol: s.protocol }, value: s.rateLimited })),
    );
    const sched = (name: string, help: string, pick: (s: SchedulerSeries) => FastHistogram) =>
      this.family(name, 'histogram', help, () => {
        const out: Sample[] = [];
        for (const s of this.schedSeries) histogramSamples(name, refLabels(s.ref), pick(s), out);
        return out;
      });
    sched('inferd_queue_duration_seconds', 'Time a request waited in the model queue (including for a batch to fill).', (s) => s.queue);
    sched('inferd_compute_duration_seconds', 'Duration of one runtime call (one batch).', (s) => s.compute);
    sched('inferd_batch_size', 'Requests per runtime call (1 = not batched).', (s) => s.batch);

    if (opts.kserveNames !== false) {
      this.family('request_predict_seconds', 'histogram', "KServe's name: inference request latency by model_name (all revisions and protocols).", () => {
        const byModel = new Map<string, { bounds: readonly number[]; counts: Float64Array; sum: number; count: number }>();
        for (const s of this.allSeries) {
          if (s.ref.name === UNKNOWN) continue;
          let agg = byModel.get(s.ref.name);
          if (!agg) byModel.set(s.ref.name, (agg = { bounds: LATENCY_BUCKETS, counts: new Float64Array(LATENCY_BUCKETS.length), sum: 0, count: 0 }));
          for (let i = 0; i < agg.counts.length; i++) agg.counts[i]! += s.latency.counts[i]!;
          agg.sum += s.latency.sum;
          agg.count += s.latency.count;
        }
        const out: Sample[] = [];
        for (const [model, h] of byModel) histogramSamples('request_predict_seconds', { model_name: model }, h, out);
        return out;
      });
    }

    // Read from the endpoints at scrape time.
    const gauge = (name: string, help: string, get: (e: EndpointLike) => number | undefined, labels: (e: EndpointLike) => Record<string, string> = (e) => refLabels(e)) =>
      this.family(name, 'gauge', help, () => this.snap.flatMap((e) => {
        const v = get(e);
        return v === undefined ? [] : [{ labels: labels(e), value: v }];
      }));
    const counter = (name: string, help: string, get: (e: EndpointLike) => number | undefined) =>
      this.family(name, 'counter', help, () => this.snap.flatMap((e) => {
        const v = get(e);
        return v === undefined ? [] : [{ labels: refLabels(e), value: v }];
      }));
    gauge('inferd_queue_depth', 'Requests waiting in the model queue.', (e) => e.stats().queued ?? 0);
    gauge('inferd_inflight_requests', 'Requests queued or in a runtime call.', (e) => {
      const s = e.stats();
      return (s.queued ?? 0) + (s.running ?? 0);
    });
    gauge('inferd_running_batches', 'Runtime calls in progress.', (e) => e.stats().running ?? 0);
    gauge('inferd_model_memory_bytes', 'Memory the loaded model holds (0 when not loaded).', (e) => e.memoryBytes());
    gauge('inferd_replicas', 'Worker replicas running the model.', (e) => e.stats().replicas?.current ?? (e.state === 'Loaded' ? 1 : 0));
    gauge('inferd_replicas_desired', 'Replicas the autoscaler wants.', (e) => e.stats().replicas?.desired ?? (e.state === 'Loaded' ? 1 : 0));
    this.family('inferd_model_state', 'gauge', 'Model revision state: 1 for the current state (Pending, Standby, Loading, Loaded, FailedToLoad).', () =>
      this.snap.flatMap((e) => (['Pending', 'Standby', 'Loading', 'Loaded', 'FailedToLoad'] as const).map((st) => ({ labels: { ...refLabels(e), state: st }, value: e.state === st ? 1 : 0 }))),
    );
    counter('inferd_batches_total', 'Runtime calls that merged two or more requests.', (e) => e.stats().batches);
    counter('inferd_batched_requests_total', 'Requests answered by merged runtime calls.', (e) => e.stats().batchedRequests);
    counter('inferd_cache_hits_total', 'Prediction-cache hits (models with inferd.dev/prediction-cache).', (e) => e.stats().cacheHits);
    counter('inferd_cache_misses_total', 'Prediction-cache misses.', (e) => e.stats().cacheMisses);
    counter('inferd_cache_shared_hits_total', 'Prediction-cache hits answered from the shared (Redis) level, i.e. computed by another inferd process; included in inferd_cache_hits_total.', (e) => e.stats().cacheSharedHits);

    if (opts.memory) {
      const memory = opts.memory;
      const mem = () => memory.stats();
      this.family('inferd_memory_used_bytes', 'gauge', 'Bytes all loaded models hold.', () => [{ labels: {}, value: mem().usedBytes }]);
      this.family('inferd_memory_budget_bytes', 'gauge', 'The memory budget of loaded models (absent when none is set).', () => {
        const b = mem().budgetBytes;
        return b === null ? [] : [{ labels: {}, value: b }];
      });
      this.family('inferd_evictions_total', 'counter', 'On-demand models unloaded to stay under the memory budget.', () => [{ labels: {}, value: mem().evictions }]);
      this.family('inferd_idle_unloads_total', 'counter', 'On-demand models unloaded after being idle.', () => [{ labels: {}, value: mem().idleUnloads }]);
    }

    this.modelLoads = new Counter({ name: 'inferd_model_loads_total', help: 'Model revision loads by outcome (success, failure).', labelNames: ['namespace', 'model', 'outcome'], registers: [r] });
    this.modelLoadSeconds = new PromHistogram({ name: 'inferd_model_load_duration_seconds', help: 'Time to load a model revision (storage, runtime load).', labelNames: ['namespace', 'model'], buckets: [...LOAD_BUCKETS], registers: [r] });
    this.modelUnloads = new Counter({ name: 'inferd_model_unloads_total', help: 'Model revisions unloaded (drained and released).', labelNames: ['namespace', 'model'], registers: [r] });
    this.modelUnloadSeconds = new PromHistogram({ name: 'inferd_model_unload_duration_seconds', help: 'Time to drain and unload a model revision.', labelNames: ['namespace', 'model'], buckets: [...LOAD_BUCKETS], registers: [r] });
    this.payloadEvents = new Counter({ name: 'inferd_payload_log_events_total', help: 'Payload logger events (spec.predictor.logger) by outcome: sent, failed, dropped.', labelNames: ['outcome'], registers: [r] });

    if (opts.gpu !== false) this.nvidiaSmi = findOnPath('nvidia-smi');
    if (this.nvidiaSmi) {
      const g = (name: string, help: string, get: (r: GpuRow) => number | undefined) =>
        this.family(name, 'gauge', help, () => this.gpuRows.flatMap((row) => {
          const v = get(row);
          return v === undefined || !Number.isFinite(v) ? [] : [{ labels: { gpu: row.index, uuid: row.uuid }, value: v }];
        }));
      g('inferd_gpu_utilization_ratio', 'GPU utilization, 0..1 (nvidia-smi).', (r) => r.util / 100);
      g('inferd_gpu_memory_used_bytes', 'GPU memory in use (nvidia-smi).', (r) => r.memUsedMiB * 1048576);
      g('inferd_gpu_memory_total_bytes', 'GPU memory (nvidia-smi).', (r) => r.memTotalMiB * 1048576);
    }
  }

  /** A family read from plain numbers at scrape time, registered in the one registry. */
  private family(name: string, type: 'counter' | 'gauge' | 'histogram', help: string, values: () => Sample[]): void {
    this.registry.registerMetric({
      name,
      help,
      type,
      aggregator: 'sum',
      get: async () => ({ name, help, type, aggregator: 'sum', values: values() }),
    } as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  // ---- hot path ------------------------------------------------------------

  /** The series of one endpoint and protocol (created once, then a WeakMap hit). */
  seriesFor(ref: EndpointRef | undefined, protocol: Protocol): RequestSeries {
    const key = ref ?? UNKNOWN_REF;
    let arr = this.series.get(key);
    if (!arr) this.series.set(key, (arr = []));
    const i = PROTOCOLS.indexOf(protocol);
    let s = arr[i];
    if (!s) {
      let w: SlidingWindow | undefined;
      if (ref) {
        w = this.windows.get(ref);
        if (!w) this.windows.set(ref, (w = new SlidingWindow(this.windowMs)));
      } else w = this.unknownWindow;
      s = arr[i] = new RequestSeries({ namespace: key.namespace, name: key.name, revisionName: key.revisionName }, protocol, w);
      this.allSeries.push(s);
    }
    return s;
  }

  /** The endpoint that answered, from the revision it named (`inferd-revision`) and the request's namespace header. */
  endpointByRevision(revision: string, namespace: string | undefined): EndpointRef | undefined {
    const key = namespace === undefined ? revision : `${namespace}/${revision}`;
    const hit = this.byRevision.get(key);
    if (hit) return hit;
    const found = this.endpoints().find((e) => e.revisionName === revision && (namespace === undefined || e.namespace === namespace));
    if (found) {
      if (this.byRevision.size > 10_000) this.byRevision.clear();
      this.byRevision.set(key, found);
    }
    return found;
  }

  /**
   * Model name in a request that did not reach a route handler (rate limit, body limits): the
   * main endpoint when the model exists where the caller may look (`allowed`, its namespaces).
   * Callers never ask for requests refused as unauthenticated, forbidden or not found: their
   * names are the client's, and a label under one would tell an outsider the model exists.
   */
  endpointByName(name: string, namespace: string | undefined, allowed?: (ns: string) => boolean): EndpointRef | undefined {
    try {
      return this.opts.router.resolve(name, namespace, {}, allowed);
    } catch {
      return undefined;
    }
  }

  /** A scheduler observer for one endpoint; `context` (tracing) is added by the caller. */
  schedulerSeries(ref: EndpointRef): SchedulerSeries {
    const s = new SchedulerSeries({ namespace: ref.namespace, name: ref.name, revisionName: ref.revisionName });
    this.schedSeries.push(s);
    return s;
  }

  // ---- scrape time ---------------------------------------------------------

  /** Every endpoint the router can reach: each model's main one plus the other revisions in its traffic split. */
  endpoints(): EndpointLike[] {
    const seen = new Set<EndpointLike>();
    for (const main of this.opts.router.list()) {
      seen.add(main);
      for (const t of this.opts.router.traffic(main.namespace, main.name)) seen.add(t.endpoint);
    }
    return [...seen];
  }

  /** The Prometheus text: inferd's families, then the vLLM-named families of loaded LLMs. */
  async render(): Promise<string> {
    this.snap = this.endpoints();
    if (this.nvidiaSmi && Date.now() - this.gpuAt > 5000) {
      this.gpuAt = Date.now();
      this.gpuRows = await queryGpus(this.nvidiaSmi);
    }
    const text = await this.registry.metrics();
    const llms = this.snap.flatMap((e) => {
      const m = e.runtimeMetrics();
      return isLlmMetrics(m) ? [{ name: e.name, metrics: m }] : [];
    });
    this.snap = [];
    return llms.length ? `${text}\n${renderVllmMetrics(llms)}` : text;
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /**
   * Mean batch size since the sample taken at least a second ago; several readers (the
   * dashboard's watch, `inferd top`) share one baseline per endpoint.
   */
  private batchSince(e: EndpointLike, batches: number, requests: number): number | null {
    const now = Date.now();
    const prev = this.batchSamples.get(e);
    if (!prev || now - prev.at >= 1000) this.batchSamples.set(e, { at: now, batches, requests, last: prev ? mean(batches - prev.batches, requests - prev.requests) : null });
    return this.batchSamples.get(e)!.last;
  }

  /** Per revision over the sliding window: what `inferd top` shows. */
  top(): { windowSeconds: number; models: TopRow[] } {
    const rows: TopRow[] = [];
    for (const e of this.endpoints()) {
      const w = this.windows.get(e);
      const s = e.stats();
      const loaded = e.state === 'Loaded' ? 1 : 0;
      rows.push({
        namespace: e.namespace, model: e.name, revision: e.revisionName, state: e.state,
        ...(w ? w.snapshot() : SlidingWindow.empty(this.windowMs)),
        queued: s.queued ?? 0, running: s.running ?? 0, memoryBytes: e.memoryBytes(),
        replicas: s.replicas ? { current: s.replicas.current, desired: s.replicas.desired } : { current: loaded, desired: loaded },
        batchSize: this.batchSince(e, s.batches ?? 0, s.batchedRequests ?? 0),
      });
    }
    const unknown = this.unknownWindow.snapshot();
    if (unknown.requests > 0) rows.push({ namespace: UNKNOWN, model: UNKNOWN, revision: UNKNOWN, state: '', ...unknown, queued: 0, running: 0, memoryBytes: 0, replicas: { current: 0, desired: 0 }, batchSize: null });
    return { windowSeconds: this.windowMs / 1000, models: rows };
  }
}

interface GpuRow {
  index: string;
  uuid: string;
  util: number;
  memUsedMiB: number;
  memTotalMiB: number;
}

function findOnPath(bin: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, bin);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // next
    }
  }
  return undefined;
}

/** One nvidia-smi query (2 s limit); no rows when it fails, so the GPU series are absent rather than zero. */
function queryGpus(bin: string): Promise<GpuRow[]> {
  return new Promise((resolve) => {
    execFile(bin, ['--query-gpu=index,uuid,utilization.gpu,memory.used,memory.total', '--format=csv,noheader,nounits'], { timeout: 2000 }, (err, stdout) => {
      if (err) return resolve([]);
      resolve(parseNvidiaSmi(stdout));
    });
  });
}

export function parseNvidiaSmi(stdout: string): GpuRow[] {
  return stdout.split('\n').map((l) => l.split(',').map((c) => c.trim())).filter((c) => c.length >= 5 && c[0] !== '').map((c) => ({
    index: c[0]!, uuid: c[1]!, util: Number(c[2]), memUsedMiB: Number(c[3]), memTotalMiB: Number(c[4]),
  }));
}
