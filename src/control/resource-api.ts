import { randomUUID } from 'node:crypto';
import { dirname } from 'node:path';
import { InferdError, quote } from '../api/errors.js';
import type { InferenceService } from '../api/resources/inference-service.js';
import type { LoadedResource, Resource } from '../api/resources/manifest.js';
import { unsupportedFields } from '../api/resources/unsupported.js';
import type { Logger } from '../observability/logger.js';
import { canonicalJson, specHash, variantsOf } from './revision-spec.js';
import { RuntimePolicy, TRUSTED_ANNOTATION, runsCode, type ApplyTrust } from './runtime-policy.js';
import type { ResourceStore } from './store.js';

export interface ApplyResult {
  kind: string;
  namespace: string;
  name: string;
  action: 'created' | 'configured' | 'unchanged';
  resourceVersion: string;
}

export interface ApplyOptions {
  /** Where relative paths resolve for resources without a source file (API bodies). */
  baseDir: string;
  /** Refuse to overwrite an existing resource (create, not apply). */
  createOnly?: boolean;
  /** Manifest file a resource came from, recorded for GitOps pruning. */
  sourceOf?: (item: LoadedResource) => string | undefined;
  /** Who applies: decides which commands and modules the resources may carry (runtime-policy.ts). */
  trust: ApplyTrust;
}

const DEPLOYMENT_MODE = 'serving.kserve.io/deploymentMode';
const SOURCE_ANNOTATION = 'inferd.dev/source';

export interface Changed {
  isvcs: Array<{ namespace: string; name: string }>;
  runtimes: string[];
}

/**
 * Validates and stores resources the way the Kubernetes API server does for
 * KServe's types: optimistic concurrency on resourceVersion, generation bumped on
 * spec changes, immutable fields, and a new revision per predictor change. One
 * call is one transaction: a batch with any bad resource changes nothing.
 */
export class ResourceApi {
  private readonly reported = new Set<string>();

  constructor(private readonly store: ResourceStore, private readonly log: Logger, private readonly policy: RuntimePolicy) {}

  apply(items: readonly LoadedResource[], opts: ApplyOptions): { results: ApplyResult[]; changed: Changed } {
    const seen = new Set<string>();
    for (const { resource } of items) {
      const id = `${resource.kind}/${resource.metadata.namespace}/${resource.metadata.name}`;
      if (seen.has(id)) throw new InferdError('conflict', `${resource.kind} "${resource.metadata.name}" appears twice in namespace ${resource.metadata.namespace}`);
      seen.add(id);
    }
    for (const item of items) this.policy.checkApply(item.resource, opts.trust, item.source.file ? dirname(item.source.file) : opts.baseDir);
    const changed: Changed = { isvcs: [], runtimes: [] };
    const results = this.store.transaction(() =>
      items.map((item) => {
        const baseDir = item.source.file ? dirname(item.source.file) : opts.baseDir;
        const source = opts.sourceOf?.(item);
        const result = this.applyOne(item.resource, baseDir, source, opts.createOnly === true, opts.trust);
        if (result.action !== 'unchanged') {
          if (item.resource.kind === 'InferenceService') changed.isvcs.push({ namespace: result.namespace, name: result.name });
          else changed.runtimes.push(result.name);
        }
        return result;
      }),
    );
    for (const { resource } of items) this.reportUnsupported(resource);
    return { results, changed };
  }

  private applyOne(input: Resource, baseDir: string, source: string | undefined, createOnly: boolean, trust: ApplyTrust): ApplyResult {
    const ns = input.metadata.namespace ?? 'default';
    const { name } = input.metadata;
    const existing = this.store.get(input.kind, ns, name)?.resource;
    const given = input.metadata.resourceVersion;
    if (existing && createOnly) throw new InferdError('conflict', `${input.kind} "${name}" already exists in namespace ${ns}`);
    if (given !== undefined && given !== existing?.metadata.resourceVersion) {
      throw new InferdError('conflict', existing
        ? `${input.kind} "${name}": the object has been modified (resourceVersion ${given} is stale, current is ${existing.metadata.resourceVersion}); get it again and re-apply`
        : `${input.kind} "${name}" does not exist, so resourceVersion ${given} cannot match`);
    }
    if (existing?.kind === 'InferenceService') {
      const before = existing.metadata.annotations?.[DEPLOYMENT_MODE];
      const after = input.metadata.annotations?.[DEPLOYMENT_MODE];
      if (before !== after) {
        throw new InferdError('invalid_input', `InferenceService "${name}": field metadata.annotations.${DEPLOYMENT_MODE} is immutable (was ${before ?? 'unset'}, got ${after ?? 'unset'})`, { field: `metadata.annotations.${DEPLOYMENT_MODE}` });
      }
    }
    const annotations = { ...input.metadata.annotations };
    if (source) annotations[SOURCE_ANNOTATION] = source;
    else delete annotations[SOURCE_ANNOTATION];
    if (trust !== 'tenant' && runsCode(input)) annotations[TRUSTED_ANNOTATION] = trust;
    else delete annotations[TRUSTED_ANNOTATION];
    const specChanged = !existing || canonicalJson(existing.spec) !== canonicalJson(input.spec);
    const metaChanged = !existing || canonicalJson(existing.metadata.labels ?? {}) !== canonicalJson(input.metadata.labels ?? {}) || canonicalJson(existing.metadata.annotations ?? {}) !== canonicalJson(annotations);
    const stored = this.store.get(input.kind, ns, name);
    if (existing && !specChanged && !metaChanged && stored?.baseDir === baseDir) {
      return { kind: input.kind, namespace: ns, name, action: 'unchanged', resourceVersion: existing.metadata.resourceVersion ?? '' };
    }
    const resource = structuredClone(input) as Resource;
    resource.metadata = {
      ...resource.metadata,
      namespace: ns,
      annotations,
      uid: existing?.metadata.uid ?? randomUUID(),
      creationTimestamp: existing?.metadata.creationTimestamp ?? new Date().toISOString(),
      generation: (existing?.metadata.generation ?? 0) + (specChanged ? 1 : 0),
      resourceVersion: this.store.nextResourceVersion(),
    };
    if (Object.keys(annotations).length === 0) delete resource.metadata.annotations;
    delete (resource as { status?: unknown }).status;
    this.store.put(resource, baseDir);
    if (resource.kind === 'InferenceService') this.recordRevisions(resource);
    return { kind: resource.kind, namespace: ns, name, action: existing ? 'configured' : 'created', resourceVersion: resource.metadata.resourceVersion! };
  }

  /** Adds an immutable revision for every variant whose predictor changed. */
  private recordRevisions(isvc: InferenceService): void {
    const ns = isvc.metadata.namespace ?? 'default';
    const revisions = this.store.revisions(ns, isvc.metadata.name);
    for (const variant of variantsOf(isvc)) {
      const hash = specHash(variant.predictor);
      const last = revisions.filter((r) => r.variant === variant.name).at(-1);
      if (last?.specHash === hash) continue;
      const rec = this.store.addRevision(ns, isvc.metadata.name, variant.name, variant.predictor, hash);
      this.store.addEvent(ns, isvc.metadata.name, { type: 'Normal', reason: 'RevisionCreated', message: `revision ${rec.number}${variant.name ? ` (canary ${variant.name})` : ''} created` });
    }
  }

  delete(kind: string, namespace: string, name: string): void {
    if (!this.store.transaction(() => this.store.delete(kind, namespace, name))) {
      throw new InferdError('not_found', `${kind} "${quote(name)}" not found in namespace ${quote(namespace)}`);
    }
  }

  /** Resources a manifest file created that are no longer in it (GitOps pruning). */
  sourcedFrom(prefix: string): Resource[] {
    return this.store.list().map((s) => s.resource).filter((r) => r.metadata.annotations?.[SOURCE_ANNOTATION]?.startsWith(prefix));
  }

  /**
   * `rollout promote` drops canaryTrafficPercent; `rollout rollback` sets it to 0,
   * or, after a promotion, points traffic back at the previous rolled-out revision.
   */
  setCanaryPercent(namespace: string, name: string, percent: number | undefined): InferenceService {
    return this.store.transaction(() => {
      const stored = this.store.get('InferenceService', namespace, name);
      if (!stored) throw new InferdError('not_found', `InferenceService "${quote(name)}" not found in namespace ${quote(namespace)}`);
      const isvc = structuredClone(stored.resource) as InferenceService;
      if (percent === undefined) delete isvc.spec.predictor.canaryTrafficPercent;
      else isvc.spec.predictor.canaryTrafficPercent = percent;
      isvc.metadata.generation = (isvc.metadata.generation ?? 0) + 1;
      isvc.metadata.resourceVersion = this.store.nextResourceVersion();
      this.store.put(isvc, stored.baseDir);
      return isvc;
    });
  }

  private reportUnsupported(resource: Resource): void {
    for (const field of unsupportedFields(resource)) {
      const id = `${resource.kind}/${resource.metadata.name}/${field}`;
      if (this.reported.has(id)) continue;
      this.reported.add(id);
      this.log.warn({ kind: resource.kind, name: resource.metadata.name, field }, `field ${field} is not yet supported by inferd and has no effect`);
    }
  }
}
