import { createHash } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { InferdError, toInferdError } from '../api/errors.js';
import type { InferenceService, ModelSpec } from '../api/resources/inference-service.js';
import type { LoadedResource } from '../api/resources/manifest.js';
import { MODULE_ANNOTATION, type ServingRuntime } from '../api/resources/serving-runtime.js';
import { unsupportedFields } from '../api/resources/unsupported.js';
import type { Config, ThreadCounts } from '../config/config.js';
import type { Logger } from '../observability/logger.js';
import { loadCustomModel } from '../runtimes/custom/custom-runtime.js';
import { runtimeForFormat } from '../runtimes/index.js';
import type { LoadContext, LoadedModel } from '../runtimes/types.js';
import { ModelEndpoint } from '../serving/model-endpoint.js';
import type { ModelRouter } from '../serving/model-router.js';
import { resolveStorageUri } from '../storage/storage-uri.js';
import { builtinServingRuntimes } from './builtin-runtimes.js';
import { setCondition, type InferenceServiceStatus } from './isvc-status.js';
import { RuntimeSelectionError, selectRuntime } from './runtime-selection.js';
import { expandTemplate } from './template.js';

interface RuntimeEntry {
  resource: ServingRuntime;
  baseDir: string;
}

interface IsvcEntry {
  resource: InferenceService;
  baseDir: string;
  specHash: string;
  revision: number;
  status: InferenceServiceStatus;
  /** The endpoint taking traffic, if any. */
  serving?: ModelEndpoint;
  /** Incremented per reconcile so a slow, superseded load is discarded. */
  attempt: number;
}

export interface ReconcilerDeps {
  router: ModelRouter;
  config: Config;
  threads: ThreadCounts;
  log: Logger;
  /** Base URL of the HTTP server, for status.url. */
  baseUrl(): string;
}

export interface ApplyResult {
  kind: string;
  namespace: string;
  name: string;
  action: 'created' | 'configured' | 'unchanged';
}

const key = (ns: string | undefined, name: string) => `${ns ?? 'default'}/${name}`;

/**
 * Converges running models to the applied resources and writes KServe-shaped
 * status. A changed predictor spec creates a new revision, which takes traffic only
 * once loaded; a failed one never does and the previous one keeps serving.
 */
export class Reconciler {
  private readonly runtimes = new Map<string, RuntimeEntry>();
  private readonly isvcs = new Map<string, IsvcEntry>();
  private readonly builtins = builtinServingRuntimes();
  private readonly pending = new Set<Promise<void>>();
  private readonly reported = new Set<string>();

  constructor(private readonly deps: ReconcilerDeps) {}

  apply(items: readonly LoadedResource[], fallbackBaseDir: string): ApplyResult[] {
    const seen = new Set<string>();
    for (const { resource } of items) {
      const id = `${resource.kind}/${key(resource.metadata.namespace, resource.metadata.name)}`;
      if (seen.has(id)) throw new InferdError('conflict', `${resource.kind} "${resource.metadata.name}" appears twice in namespace ${resource.metadata.namespace}`);
      seen.add(id);
    }
    const results: ApplyResult[] = [];
    const touchedRuntimes = new Set<string>();
    for (const { resource, source } of items) {
      const baseDir = source.file ? dirname(source.file) : fallbackBaseDir;
      this.reportUnsupported(resource);
      const ns = resource.metadata.namespace ?? 'default';
      if (resource.kind === 'InferenceService') {
        results.push({ kind: resource.kind, namespace: ns, name: resource.metadata.name, action: this.upsertIsvc(resource, baseDir) });
      } else {
        const k = `${resource.kind}/${key(ns, resource.metadata.name)}`;
        const prev = this.runtimes.get(k);
        const changed = !prev || hash(prev.resource.spec) !== hash(resource.spec);
        this.runtimes.set(k, { resource, baseDir });
        if (changed) touchedRuntimes.add(resource.metadata.name);
        results.push({ kind: resource.kind, namespace: ns, name: resource.metadata.name, action: prev ? (changed ? 'configured' : 'unchanged') : 'created' });
      }
    }
    // Models on a changed runtime, or still waiting for one, are reconciled again.
    for (const entry of this.isvcs.values()) {
      const rt = entry.status.servingRuntimeName ?? entry.status.clusterServingRuntimeName;
      if ((rt && touchedRuntimes.has(rt)) || (touchedRuntimes.size && entry.status.modelStatus.transitionStatus === 'InvalidSpec')) this.schedule(entry);
    }
    return results;
  }

  async delete(kind: string, namespace: string, name: string): Promise<void> {
    if (kind === 'InferenceService') {
      const entry = this.isvcs.get(key(namespace, name));
      if (!entry) throw new InferdError('not_found', `InferenceService "${name}" not found in namespace ${namespace}`);
      this.isvcs.delete(key(namespace, name));
      entry.attempt++;
      this.deps.router.delete(namespace, name);
      await entry.serving?.close();
      return;
    }
    if (!this.runtimes.delete(`${kind}/${key(namespace, name)}`)) {
      throw new InferdError('not_found', `${kind} "${name}" not found in namespace ${namespace}`);
    }
  }

  getIsvc(namespace: string, name: string): InferenceService & { status: InferenceServiceStatus } {
    const entry = this.isvcs.get(key(namespace, name));
    if (!entry) throw new InferdError('not_found', `InferenceService "${name}" not found in namespace ${namespace}`);
    return { ...entry.resource, status: entry.status };
  }

  listIsvcs(namespace?: string): Array<InferenceService & { status: InferenceServiceStatus }> {
    return [...this.isvcs.values()]
      .filter((e) => namespace === undefined || e.resource.metadata.namespace === namespace)
      .map((e) => ({ ...e.resource, status: e.status }));
  }

  /** User runtimes plus the built-ins that no user runtime of the same name replaces. */
  listRuntimes(namespace?: string): ServingRuntime[] {
    const user = [...this.runtimes.values()].map((r) => r.resource);
    const cluster = user.filter((r) => r.kind === 'ClusterServingRuntime');
    const builtins = this.builtins.filter((b) => !cluster.some((c) => c.metadata.name === b.metadata.name));
    return [...user.filter((r) => r.kind === 'ServingRuntime' && (namespace === undefined || r.metadata.namespace === namespace)), ...cluster, ...builtins];
  }

  /** Resolves once every scheduled load has finished (successfully or not). */
  async settled(): Promise<void> {
    while (this.pending.size) await Promise.allSettled([...this.pending]);
  }

  async close(): Promise<void> {
    for (const entry of this.isvcs.values()) entry.attempt++;
    await this.settled();
    await Promise.allSettled([...this.isvcs.values()].map((e) => e.serving?.close()));
  }

  private reportUnsupported(resource: LoadedResource['resource']): void {
    for (const field of unsupportedFields(resource)) {
      const id = `${resource.kind}/${resource.metadata.name}/${field}`;
      if (this.reported.has(id)) continue;
      this.reported.add(id);
      this.deps.log.warn({ kind: resource.kind, name: resource.metadata.name, field }, `field ${field} is not yet supported by inferd and has no effect`);
    }
  }

  private upsertIsvc(resource: InferenceService, baseDir: string): ApplyResult['action'] {
    const k = key(resource.metadata.namespace, resource.metadata.name);
    const prev = this.isvcs.get(k);
    const specHash = hash(resource.spec);
    if (prev && prev.specHash === specHash && prev.baseDir === baseDir) {
      prev.resource = { ...resource, metadata: { ...resource.metadata, generation: prev.resource.metadata.generation } };
      return 'unchanged';
    }
    const revision = (prev?.revision ?? 0) + 1;
    const generation = (prev?.resource.metadata.generation ?? 0) + 1;
    const entry: IsvcEntry = {
      resource: { ...resource, metadata: { ...resource.metadata, generation } },
      baseDir,
      specHash,
      revision,
      attempt: prev?.attempt ?? 0,
      status: {
        observedGeneration: generation,
        conditions: prev?.status.conditions ?? [],
        components: { predictor: { latestCreatedRevision: revisionName(resource, revision), ...(prev?.status.components.predictor.latestReadyRevision ? { latestReadyRevision: prev.status.components.predictor.latestReadyRevision } : {}) } },
        modelStatus: { transitionStatus: 'InProgress', states: { activeModelState: prev?.serving?.ready ? 'Loaded' : '', targetModelState: 'Pending' } },
      },
    };
    if (prev?.serving) entry.serving = prev.serving;
    this.isvcs.set(k, entry);
    this.schedule(entry);
    return prev ? 'configured' : 'created';
  }

  private schedule(entry: IsvcEntry): void {
    const attempt = ++entry.attempt;
    const p = this.reconcile(entry, attempt).finally(() => this.pending.delete(p));
    this.pending.add(p);
  }

  private async reconcile(entry: IsvcEntry, attempt: number): Promise<void> {
    const { resource } = entry;
    const ns = resource.metadata.namespace ?? 'default';
    const name = resource.metadata.name;
    const log = this.deps.log.child({ namespace: ns, model: name, revision: entry.revision });
    const current = () => this.isvcs.get(key(ns, name)) === entry && entry.attempt === attempt;
    const endpoint = new ModelEndpoint(ns, name, String(entry.revision));
    let model: LoadedModel | undefined;
    try {
      const spec = resource.spec.predictor.model;
      if (!spec) throw new SpecError('InvalidPredictorSpec', 'spec.predictor.containers without spec.predictor.model is not yet supported');
      const runtime = this.selectRuntime(spec, ns);
      entry.status[runtime.resource.kind === 'ClusterServingRuntime' ? 'clusterServingRuntimeName' : 'servingRuntimeName'] = runtime.resource.metadata.name;
      endpoint.setLoading();
      if (!entry.serving) this.deps.router.set(endpoint);
      this.writeStatus(entry, endpoint);
      log.info({ runtime: runtime.resource.metadata.name }, 'loading model');
      const started = performance.now();
      model = await this.load(spec, runtime, entry, log);
      if (!current()) {
        await model.unload();
        return;
      }
      endpoint.setLoaded(model);
      const previous = entry.serving;
      entry.serving = endpoint;
      this.deps.router.set(endpoint);
      if (previous && previous !== endpoint) await previous.close();
      log.info({ ms: Math.round(performance.now() - started), memoryBytes: model.memoryBytes() }, 'model loaded');
    } catch (err) {
      if (model && !current()) await model.unload();
      if (!current()) return;
      const reason = err instanceof SpecError || err instanceof RuntimeSelectionError ? err.reason : 'ModelLoadFailed';
      const message = err instanceof Error ? err.message : String(err);
      endpoint.setFailed({ reason, message });
      log.error({ reason, err: InferdError.is(err) ? err.message : toInferdError(err).cause }, `model failed to load: ${message}`);
    }
    if (current()) this.writeStatus(entry, endpoint);
  }

  private selectRuntime(spec: ModelSpec, namespace: string): RuntimeEntry {
    const namespaced = [...this.runtimes.values()].filter((r) => r.resource.kind === 'ServingRuntime' && r.resource.metadata.namespace === namespace);
    const cluster = this.listRuntimes().filter((r) => r.kind === 'ClusterServingRuntime');
    const chosen = selectRuntime(spec, { namespaced: namespaced.map((r) => r.resource), cluster });
    const user = [...this.runtimes.values()].find((r) => r.resource === chosen);
    return user ?? { resource: chosen, baseDir: process.cwd() };
  }

  private async load(spec: ModelSpec, runtime: RuntimeEntry, entry: IsvcEntry, log: Logger): Promise<LoadedModel> {
    const meta = entry.resource.metadata;
    const container = runtime.resource.spec.containers.find((c) => c.name === 'kserve-container') ?? runtime.resource.spec.containers[0]!;
    const env: Record<string, string> = {};
    for (const e of [...(container.env ?? []), ...(spec.env ?? [])]) if (e.value !== undefined) env[e.name] = expandTemplate(e.value, meta);
    const path = spec.storageUri
      ? await resolveStorageUri(spec.storageUri, this.deps.config.storage, { baseDir: entry.baseDir })
      : entry.baseDir;
    const ctx: LoadContext = {
      name: meta.name,
      path,
      format: spec.modelFormat,
      args: [...(container.args ?? []), ...(spec.args ?? [])].map((a) => expandTemplate(a, meta)),
      env,
      threads: this.deps.threads,
      log,
    };
    const modulePath = runtime.resource.metadata.annotations?.[MODULE_ANNOTATION];
    if (modulePath) return loadCustomModel(resolve(runtime.baseDir, modulePath), ctx);
    const impl = runtimeForFormat(spec.modelFormat.name);
    if (!impl) {
      throw new SpecError('RuntimeNotRecognized', `runtime "${runtime.resource.metadata.name}" has no in-process implementation for format "${spec.modelFormat.name}" and no ${MODULE_ANNOTATION} annotation`);
    }
    return impl.load(ctx);
  }

  private writeStatus(entry: IsvcEntry, endpoint: ModelEndpoint): void {
    const s = entry.status;
    const failure = endpoint.failure;
    const serving = entry.serving?.ready === true;
    const target = endpoint.state;
    s.modelStatus = {
      transitionStatus: target === 'Loaded' ? 'UpToDate' : failure ? (failure.reason === 'ModelLoadFailed' ? 'BlockedByFailedLoad' : 'InvalidSpec') : 'InProgress',
      states: { activeModelState: serving ? 'Loaded' : target === 'FailedToLoad' ? 'FailedToLoad' : target, targetModelState: target },
    };
    if (failure) s.modelStatus.lastFailureInfo = { ...failure, time: new Date().toISOString() };
    if (target === 'Loaded') s.components.predictor.latestReadyRevision = revisionName(entry.resource, entry.revision);
    const predictor =
      target === 'Loaded'
        ? { status: 'True' as const }
        : failure
          ? { status: 'False' as const, reason: failure.reason, message: failure.message }
          : { status: 'Unknown' as const, reason: 'Loading', message: `revision ${entry.revision} is loading` };
    s.conditions = setCondition(s.conditions, { type: 'PredictorReady', ...predictor });
    const ready = serving ? { status: 'True' as const } : predictor;
    s.conditions = setCondition(s.conditions, { type: 'Ready', ...ready });
    s.url = `${this.deps.baseUrl()}/v2/models/${entry.resource.metadata.name}`;
  }
}

class SpecError extends Error {
  constructor(readonly reason: string, message: string) {
    super(message);
  }
}

function revisionName(resource: InferenceService, revision: number): string {
  return `${resource.metadata.name}-predictor-${String(revision).padStart(5, '0')}`;
}

function hash(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex');
}
