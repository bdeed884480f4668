import type { InferenceService } from '../api/resources/inference-service.js';
import type { ServingRuntime } from '../api/resources/serving-runtime.js';
import type { Config, ThreadCounts } from '../config/config.js';
import type { Logger } from '../observability/logger.js';
import type { Observability } from '../observability/observability.js';
import { onProcessEvent, processStatus } from '../runtimes/process/registry.js';
import type { StorageProgress } from '../storage/download.js';
import { ModelEndpoint } from '../serving/model-endpoint.js';
import type { MemoryManager } from '../serving/memory-manager.js';
import type { SharedPredictionStore } from '../shared-state/shared-prediction-cache.js';
import type { ModelRouter } from '../serving/model-router.js';
import type { TrafficTarget } from '../serving/traffic.js';
import { builtinServingRuntimes } from './builtin-runtimes.js';
import { hostUrl, modelUrl } from './model-url.js';
import { endpointOptions } from './endpoint-options.js';
import { setCondition, type Condition, type InferenceServiceStatus } from './isvc-status.js';
import { LoadMarkers } from './load-markers.js';
import { LoadError, loadPredictor, type LoadResult, type RuntimeEntry } from './model-loader.js';
import { InferdError } from '../api/errors.js';
import { loadModeOf } from '../api/resources/load-mode.js';
import type { LoadedModel } from '../runtimes/types.js';
import { MAIN, revisionName, variantsOf } from './revision-spec.js';
import type { ResourceStore, RevisionRecord, RolloutState } from './store.js';

export interface ReconcilerDeps {
  router: ModelRouter;
  memory: MemoryManager;
  store: ResourceStore;
  config: Config;
  threads: ThreadCounts;
  log: Logger;
  /** Base URL of the HTTP server, for status.url. */
  baseUrl(): string;
  /** Load/unload metrics, the scheduler's queue/compute/batch metrics, payload loggers. */
  observability?: Observability;
  /** Prediction cache shared between inferd processes (config `redis`), behind each revision's local one. */
  sharedCache?: SharedPredictionStore;
}

interface Live {
  /** Endpoints by revision number: loading, loaded or failed. */
  endpoints: Map<number, ModelEndpoint>;
  runtimeName?: { kind: string; name: string };
  conditions: Condition[];
  traffic: TrafficTarget[];
  failure?: { reason: string; message: string; time: string };
  /** Downloads in progress, by revision number. */
  downloads: Map<number, StorageProgress>;
}

const key = (ns: string, name: string) => `${ns}/${name}`;

/** A revision's load marker: with its spec hash, so a changed spec (a new revision) loads again. */
const markerOf = (rec: RevisionRecord, ns: string, name: string) => `${ns}/${name}/${rec.number}/${rec.specHash}`;

/**
 * Level-triggered: compares stored InferenceServices with what runs and converges.
 * Each revision gets its own endpoint; traffic moves to a revision only once it is
 * loaded, and an endpoint leaves the router before it is drained and unloaded.
 * Reconciles of one InferenceService run one at a time.
 */
export class Reconciler {
  private readonly live = new Map<string, Live>();
  private readonly chains = new Map<string, Promise<void>>();
  private readonly pending = new Set<Promise<unknown>>();
  private readonly builtins = builtinServingRuntimes();
  private closed = false;
  private readonly markers: LoadMarkers;
  private readonly stopProcessEvents: () => void;
  /** Aborts a revision's load when it leaves (a delete while an external process starts). */
  private readonly loadAborts = new WeakMap<ModelEndpoint, AbortController>();

  constructor(private readonly deps: ReconcilerDeps) {
    this.markers = new LoadMarkers(deps.config.dataDir);
    // Crashes and restarts of external processes become events of their InferenceService.
    this.stopProcessEvents = onProcessEvent((e) => {
      if (!this.closed && deps.store.get('InferenceService', e.namespace, e.name)) deps.store.addEvent(e.namespace, e.name, { type: e.type, reason: e.reason, message: e.message });
    });
  }

  /**
   * Brings every stored InferenceService up, e.g. after a restart. Resolves once each has had
   * its first reconcile (its loads started, its route set): the startup pass server readiness
   * waits for, not the loads themselves.
   */
  async start(): Promise<void> {
    await Promise.all(this.deps.store.list('InferenceService').map(({ resource }) => this.enqueue(resource.metadata.namespace ?? 'default', resource.metadata.name)));
  }

  enqueue(namespace: string, name: string): Promise<void> {
    if (this.closed) return Promise.resolve();
    const k = key(namespace, name);
    const next = (this.chains.get(k) ?? Promise.resolve())
      .then(() => this.reconcile(namespace, name))
      .catch((err: unknown) => this.deps.log.error({ namespace, model: name, err }, 'reconcile failed'));
    this.chains.set(k, next);
    this.track(next);
    return next;
  }

  /** Runtime changes: InferenceServices that could not load get another try. */
  runtimesChanged(): void {
    for (const [k, live] of this.live) {
      if (live.failure) {
        const [ns, name] = k.split('/') as [string, string];
        const isvc = this.deps.store.get('InferenceService', ns, name);
        if (!isvc) continue;
        for (const [n, ep] of live.endpoints) if (ep.state === 'FailedToLoad') live.endpoints.delete(n);
        this.enqueue(ns, name);
      }
    }
  }

  /** The operator's runtime allow-lists, for apply-time checks. */
  get runtimePolicy(): Config['runtimes'] {
    return this.deps.config.runtimes;
  }

  /** User runtimes plus the built-ins that no user runtime of the same name replaces. */
  runtimes(namespace?: string): { namespaced: RuntimeEntry[]; cluster: RuntimeEntry[] } {
    const stored = this.deps.store.list().filter((s) => s.resource.kind !== 'InferenceService') as Array<{ resource: ServingRuntime; baseDir: string }>;
    const cluster = stored.filter((s) => s.resource.kind === 'ClusterServingRuntime');
    const builtins = this.builtins.filter((b) => !cluster.some((c) => c.resource.metadata.name === b.metadata.name)).map((resource) => ({ resource, baseDir: process.cwd() }));
    const namespaced = stored.filter((s) => s.resource.kind === 'ServingRuntime' && (namespace === undefined || s.resource.metadata.namespace === namespace));
    return { namespaced, cluster: [...cluster, ...builtins] };
  }

  private track<T>(p: Promise<T>): void {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  endpoints(namespace: string, name: string): ModelEndpoint[] {
    return [...(this.live.get(key(namespace, name))?.endpoints.values() ?? [])];
  }

  /** Resolves once every scheduled reconcile and load has finished. */
  async settled(): Promise<void> {
    while (this.pending.size) await Promise.allSettled([...this.pending]);
  }

  /**
   * Waits for reconciles and loads still running, then closes every endpoint. `cut` (shutdown's
   * grace period is over) stops the wait: a load that never ends (storage that accepts and never
   * answers) must not hold the process past its deadline; its result is discarded when it lands.
   */
  async close(cut?: AbortSignal): Promise<void> {
    this.closed = true;
    this.markers.clearMine();
    this.stopProcessEvents();
    if (cut?.aborted) return this.closeEndpoints();
    const onCut = cut && new Promise<void>((resolve) => cut.addEventListener('abort', () => resolve(), { once: true }));
    await (onCut ? Promise.race([this.settled(), onCut]) : this.settled());
    await this.closeEndpoints();
  }

  private async closeEndpoints(): Promise<void> {
    await Promise.allSettled([...this.live.values()].flatMap((l) => [...l.endpoints.values()].map((e) => e.close())));
  }

  private async reconcile(namespace: string, name: string): Promise<void> {
    const { store, router } = this.deps;
    const k = key(namespace, name);
    const stored = store.get('InferenceService', namespace, name);
    let live = this.live.get(k);
    if (!stored) {
      router.delete(namespace, name);
      this.live.delete(k);
      for (const e of live?.endpoints.values() ?? []) this.deps.memory.unregister(e);
      if (live) await Promise.allSettled([...live.endpoints.values()].map((e) => this.unload(e)));
      return;
    }
    if (!live) {
      live = { endpoints: new Map(), conditions: [], traffic: [], downloads: new Map() };
      this.live.set(k, live);
    }
    const isvc = stored.resource as InferenceService;
    const revisions = store.revisions(namespace, name);
    const rollout = store.rollout(namespace, name);
    const variants = variantsOf(isvc);
    const latestOf = (variant: string) => revisions.filter((r) => r.variant === variant).at(-1);
    const mainLatest = latestOf(MAIN);
    if (!mainLatest) return;

    const wanted = new Set<number>([mainLatest.number]);
    if (rollout.latestRolledout !== undefined) wanted.add(rollout.latestRolledout);
    const canaries = variants.filter((v) => v.name !== MAIN).map((v) => ({ variant: v, rev: latestOf(v.name) }));
    for (const c of canaries) if (c.rev) wanted.add(c.rev.number);
    for (const n of wanted) {
      const rec = revisions.find((r) => r.number === n);
      if (rec) this.ensureEndpoint(isvc, stored.baseDir, rec, live, rollout);
    }

    const ep = (n: number | undefined) => (n === undefined ? undefined : live.endpoints.get(n));
    const latestEp = ep(mainLatest.number)!;
    const next: RolloutState = { ...rollout };
    const percent = isvc.spec.predictor.canaryTrafficPercent;
    const targets: TrafficTarget[] = [];
    const stable = ep(rollout.latestRolledout);
    const inCanary = percent !== undefined && rollout.latestRolledout !== undefined && rollout.latestRolledout !== mainLatest.number;
    if (latestEp.ready && !inCanary) {
      if (next.latestRolledout !== mainLatest.number) {
        if (next.latestRolledout !== undefined) next.previousRolledout = next.latestRolledout;
        next.latestRolledout = mainLatest.number;
      }
      targets.push({ endpoint: latestEp, percent: 100 });
    } else if (latestEp.ready && stable?.ready) {
      targets.push({ endpoint: latestEp, percent: percent!, tag: 'latest' }, { endpoint: stable, percent: 100 - percent!, tag: 'prev' });
    } else if (latestEp.ready) {
      // The stable revision is still loading (a restart, a rollback): keep serving the latest until it is ready.
      targets.push({ endpoint: latestEp, percent: 100, tag: 'latest' });
    } else if (stable?.ready) {
      targets.push({ endpoint: stable, percent: 100, tag: 'prev' });
    }
    // spec.canary[] entries take their share from the stable targets once ready.
    const readyCanaries = canaries.filter((c) => c.rev && ep(c.rev.number)?.ready);
    const canaryShare = readyCanaries.reduce((s, c) => s + (c.variant.percent ?? 0), 0);
    if (canaryShare > 0 && targets.length) {
      for (const t of targets) t.percent = (t.percent * (100 - canaryShare)) / 100;
      for (const c of readyCanaries) targets.push({ endpoint: ep(c.rev!.number)!, percent: c.variant.percent ?? 0, tag: c.variant.name });
    }

    if (next.latestRolledout !== rollout.latestRolledout || next.previousRolledout !== rollout.previousRolledout) {
      store.setRollout(namespace, name, next);
      store.addEvent(namespace, name, { type: 'Normal', reason: 'RolledOut', message: `revision ${next.latestRolledout} takes the traffic${next.previousRolledout !== undefined ? ` (previous: ${next.previousRolledout})` : ''}` });
    }
    const keep = new Set<number>([...targets.map((t) => Number(t.endpoint.version)), mainLatest.number, ...canaries.flatMap((c) => (c.rev ? [c.rev.number] : []))]);
    if (next.latestRolledout !== undefined) keep.add(next.latestRolledout);
    const reachable = [...live.endpoints.entries()].filter(([n, e]) => keep.has(n) && e.ready).map(([, e]) => e);
    router.setRoute(namespace, name, targets, reachable, latestEp);
    live.traffic = targets;
    for (const [n, e] of live.endpoints) {
      if (!keep.has(n)) {
        live.endpoints.delete(n);
        this.deps.memory.unregister(e);
        this.track(this.unload(e));
      }
    }
    this.updateConditions(live, latestEp, targets);
  }

  private ensureEndpoint(isvc: InferenceService, baseDir: string, rec: RevisionRecord, live: Live, rollout: RolloutState): void {
    if (live.endpoints.has(rec.number)) return;
    const { namespace = 'default', name } = isvc.metadata;
    const predictor = rec.spec as InferenceService['spec']['predictor'];
    const log = this.deps.log.child({ namespace, model: name, revision: rec.number });
    const onProgress = (p: StorageProgress) => {
      if (p.done) live.downloads.delete(rec.number);
      else live.downloads.set(rec.number, p);
    };
    const abort = new AbortController();
    const loadModel = () => loadPredictor({ ...this.deps, logLevel: this.deps.config.logLevel, runtimes: (ns) => this.runtimes(ns) }, isvc, predictor, baseDir, log, onProgress, abort.signal);
    const markedLoad = () => this.loadMarked(markerOf(rec, namespace, name), loadModel, log);
    const options = endpointOptions(predictor, this.deps.config, isvc.metadata.annotations);
    options.memory = this.deps.memory;
    const revName = revisionName(name, rec.variant, rec.number);
    // The spec hash keeps processes whose revision numbers drifted apart from sharing predictions of different specs.
    if (options.cache && this.deps.sharedCache) options.cache.shared = this.deps.sharedCache.scoped(`${namespace}/${name}/${revName}/${rec.specHash.slice(0, 16)}`);
    const obs = this.deps.observability;
    const observer = obs?.schedulerObserver({ namespace, name, revisionName: revName });
    if (observer) options.scheduler.observer = observer;
    if (obs?.config.payloadLogger.enabled) obs.payloads.register(namespace, name, revName, predictor.logger);
    if (options.onDemand) options.reload = () => this.loadOnDemand(endpoint, rec, live, markedLoad, log);
    if (options.autoscale) {
      options.autoscale.onDecision = (d) => {
        log.info({ autoscale: d }, `autoscaler: ${d.from} -> ${d.to} replicas (observed ${d.observed.toFixed(2)}${d.panic ? ', panic' : ''})`);
        this.deps.store.addEvent(namespace, name, { type: 'Normal', reason: 'Scaled', message: `revision ${rec.number}: ${d.from} -> ${d.to} replicas (observed ${d.observed.toFixed(2)}${d.panic ? ', panic mode' : ''})` });
      };
    }
    const endpoint = new ModelEndpoint(namespace, name, String(rec.number), revName, options);
    this.loadAborts.set(endpoint, abort);
    this.deps.memory.register(endpoint);
    live.endpoints.set(rec.number, endpoint);
    const marker = markerOf(rec, namespace, name);
    if (this.markers.leftBehind(marker)) {
      this.recordFailed(endpoint, rec, live, log, 'ModelLoadFailed', `the server stopped while loading revision ${rec.number} (a crash or a kill), so it is not loaded again at start; apply a changed spec to try again`);
      return;
    }
    // Lazy: on standby until the first request. A revision that would take traffic from another
    // one that serves loads first all the same, so a broken spec never takes that traffic.
    const lazy = options.onDemand === true && loadModeOf(isvc.metadata.annotations, this.deps.config.serving.onDemandLoad) === 'lazy' && (rec.outcome === 'Ready' || rollout.latestRolledout === undefined || rollout.latestRolledout === rec.number);
    if (lazy) {
      endpoint.setStandby();
      log.info('on standby: loads on its first request');
      return;
    }
    endpoint.setLoading();
    const started = performance.now();
    const load = (options.onDemand ? this.deps.memory.serialize(markedLoad) : markedLoad()).then(
      async ({ model, runtime }) => {
        if (live.endpoints.get(rec.number) !== endpoint || this.closed) return model.unload();
        endpoint.setLoaded(model);
        this.deps.memory.recordLoad(performance.now() - started);
        await this.deps.memory.makeRoom(endpoint, 0).catch(() => undefined);
        this.recordLoaded(endpoint, rec, live, log, model, runtime, started, '');
      },
      (err: unknown) => this.recordLoadError(endpoint, rec, live, log, err, started, ''),
    );
    this.track(
      load.finally(() => {
        live.downloads.delete(rec.number);
        this.enqueue(namespace, name);
      }),
    );
  }

  /**
   * Every load, at start or on demand, runs under its revision's marker: a process that dies
   * inside it leaves the marker behind, and the next start marks the revision failed instead of
   * loading it again (load-markers.ts).
   */
  private async loadMarked(marker: string, loadModel: () => Promise<LoadResult>, log: Logger): Promise<LoadResult> {
    this.markers.set(marker);
    log.info({ loadingMarker: this.markers.path(marker) }, 'loading model');
    try {
      return await loadModel();
    } finally {
      this.markers.clear(marker);
    }
  }

  /**
   * An on-demand load (a request found the model on standby): metrics, events and status as
   * for a load at start. A failure marks the revision FailedToLoad (status says why) and the
   * waiting requests get 503.
   */
  private async loadOnDemand(endpoint: ModelEndpoint, rec: RevisionRecord, live: Live, markedLoad: () => Promise<LoadResult>, log: Logger): Promise<LoadedModel> {
    const started = performance.now();
    try {
      const { model, runtime } = await markedLoad();
      this.recordLoaded(endpoint, rec, live, log, model, runtime, started, ' on demand');
      return model;
    } catch (err) {
      const reason = this.recordLoadError(endpoint, rec, live, log, err, started, ' on demand');
      this.enqueue(endpoint.namespace, endpoint.name);
      throw new InferdError('not_ready', `Model with name ${endpoint.name} failed to load (${reason}); its status says why.`, { retryAfter: 1 });
    }
  }

  /** A load that succeeded, at start or on demand (`how`): metrics, status, event and log line. */
  private recordLoaded(endpoint: ModelEndpoint, rec: RevisionRecord, live: Live, log: Logger, model: LoadedModel, runtime: LoadResult['runtime'], started: number, how: string): void {
    const { namespace, name } = endpoint;
    const ms = Math.round(performance.now() - started);
    this.deps.observability?.modelLoaded(namespace, name, true, ms / 1000);
    live.runtimeName = { kind: runtime.kind, name: runtime.metadata.name };
    delete live.failure;
    this.deps.store.setRevisionOutcome(namespace, name, rec.number, 'Ready');
    this.deps.store.addEvent(namespace, name, { type: 'Normal', reason: 'ModelLoaded', message: `revision ${rec.number} loaded${how} in ${ms} ms (${model.memoryBytes()} bytes)` });
    log.info({ ms, memoryBytes: model.memoryBytes() }, `model loaded${how}`);
  }

  /** A load that failed, at start or on demand (`how`): its load metric, then `recordFailed`. Returns the reason. */
  private recordLoadError(endpoint: ModelEndpoint, rec: RevisionRecord, live: Live, log: Logger, err: unknown, started: number, how: string): string {
    const reason = err instanceof LoadError ? err.reason : 'ModelLoadFailed';
    this.deps.observability?.modelLoaded(endpoint.namespace, endpoint.name, false, (performance.now() - started) / 1000);
    this.recordFailed(endpoint, rec, live, log, reason, err instanceof Error ? err.message : String(err), `model failed to load${how}`);
    return reason;
  }

  /** A revision that will not serve: endpoint state, status, stored outcome, event and log line. */
  private recordFailed(endpoint: ModelEndpoint, rec: RevisionRecord, live: Live, log: Logger, reason: string, message: string, what = 'model not loaded'): void {
    const { namespace, name } = endpoint;
    endpoint.setFailed({ reason, message });
    live.failure = { reason, message, time: new Date().toISOString() };
    this.deps.store.setRevisionOutcome(namespace, name, rec.number, 'Failed', message);
    this.deps.store.addEvent(namespace, name, { type: 'Warning', reason, message: `revision ${rec.number}: ${message}` });
    log.error({ reason }, `${what}: ${message}`);
  }

  /** Drains and unloads a revision that left the traffic, timed for the unload metrics. */
  private async unload(e: ModelEndpoint): Promise<void> {
    const started = performance.now();
    this.loadAborts.get(e)?.abort();
    const wasLoaded = e.state === 'Loaded';
    await e.close();
    this.deps.observability?.payloads.unregister(e.namespace, e.revisionName);
    if (wasLoaded) this.deps.observability?.modelUnloaded(e.namespace, e.name, (performance.now() - started) / 1000);
  }

  private updateConditions(live: Live, latest: ModelEndpoint, targets: TrafficTarget[]): void {
    const serving = targets.some((t) => t.percent > 0) && targets.every((t) => t.percent === 0 || t.endpoint.ready);
    const failure = latest.failure;
    const latestCond = latest.state === 'Standby'
      ? { status: 'True' as const, reason: 'Standby', message: `revision ${latest.version} is not loaded: it loads on the next request` }
      : latest.ready
      ? { status: 'True' as const }
      : failure
        ? { status: 'False' as const, reason: failure.reason, message: failure.message }
        : { status: 'Unknown' as const, reason: 'Loading', message: `revision ${latest.version} is loading` };
    const standby = serving && !targets.some((t) => t.percent > 0 && t.endpoint.state === 'Loaded');
    const predictor = !serving ? latestCond : standby ? { status: 'True' as const, reason: 'Standby', message: 'not loaded: the next request loads it' } : { status: 'True' as const };
    live.conditions = setCondition(live.conditions, { type: 'LatestDeploymentReady', severity: 'Info', ...latestCond });
    live.conditions = setCondition(live.conditions, { type: 'PredictorReady', ...predictor });
    live.conditions = setCondition(live.conditions, { type: 'Ready', ...predictor });
  }

  /** KServe-shaped status, derived from the store and what runs now. */
  status(isvc: InferenceService): InferenceServiceStatus {
    const { namespace = 'default', name } = isvc.metadata;
    const live = this.live.get(key(namespace, name));
    const revisions = this.deps.store.revisions(namespace, name);
    const rollout = this.deps.store.rollout(namespace, name);
    const main = revisions.filter((r) => r.variant === MAIN);
    const latest = main.at(-1);
    const latestEp = latest && live?.endpoints.get(latest.number);
    const revName = (n: number | undefined) => (n === undefined ? undefined : revisionName(name, revisions.find((r) => r.number === n)?.variant ?? MAIN, n));
    const lastReady = [...main].reverse().find((r) => r.outcome === 'Ready');
    const target = latestEp?.state ?? 'Pending';
    const servingTargets = (live?.traffic ?? []).filter((t) => t.percent > 0 && t.endpoint.ready);
    const serving = servingTargets.length > 0;
    const status: InferenceServiceStatus = {
      observedGeneration: isvc.metadata.generation ?? 1,
      url: modelUrl(this.deps.baseUrl(), namespace, name),
      conditions: live?.conditions ?? [],
      components: {
        predictor: {
          traffic: (live?.traffic ?? []).map((t) => ({
            revisionName: t.endpoint.revisionName,
            percent: Math.round(t.percent * 100) / 100,
            latestRevision: t.endpoint === latestEp,
            ...(t.tag ? { tag: t.tag } : {}),
          })),
        },
      },
      modelStatus: {
        transitionStatus: target === 'Loaded' || target === 'Standby' ? 'UpToDate' : target === 'FailedToLoad' ? (latestEp?.failure?.reason === 'ModelLoadFailed' ? 'BlockedByFailedLoad' : 'InvalidSpec') : 'InProgress',
        states: { activeModelState: serving ? (servingTargets.some((t) => t.endpoint.state === 'Loaded') ? 'Loaded' : 'Standby') : target === 'FailedToLoad' ? 'FailedToLoad' : '', targetModelState: target },
      },
    };
    const address = hostUrl(this.deps.baseUrl(), namespace, name, this.deps.config.serving.domain);
    if (address) status.address = { url: address };
    const p = status.components.predictor;
    const set = (field: 'latestCreatedRevision' | 'latestReadyRevision' | 'latestRolledoutRevision' | 'previousRolledoutRevision', value: string | undefined) => {
      if (value !== undefined) p[field] = value;
    };
    set('latestCreatedRevision', revName(latest?.number));
    set('latestReadyRevision', revName(lastReady?.number));
    set('latestRolledoutRevision', revName(rollout.latestRolledout));
    set('previousRolledoutRevision', revName(rollout.previousRolledout));
    if (live?.runtimeName) status[live.runtimeName.kind === 'ClusterServingRuntime' ? 'clusterServingRuntimeName' : 'servingRuntimeName'] = live.runtimeName.name;
    if (live?.failure) status.modelStatus.lastFailureInfo = live.failure;
    const download = latest && live?.downloads.get(latest.number);
    if (download) status.modelStatus.download = download;
    const processes = processStatus(namespace, name);
    if (processes.length) status.processes = processes;
    const canaries = variantsOf(isvc).filter((v) => v.name !== MAIN);
    if (canaries.length) {
      status.canaryStatuses = canaries.map((v) => {
        const rec = revisions.filter((r) => r.variant === v.name).at(-1);
        const ep = rec && live?.endpoints.get(rec.number);
        const share = live?.traffic.find((t) => t.tag === v.name)?.percent ?? 0;
        return { name: v.name, ready: ep?.ready ?? false, trafficPercent: share, ...(rec ? { revision: revName(rec.number)! } : {}) };
      });
    }
    return status;
  }
}
