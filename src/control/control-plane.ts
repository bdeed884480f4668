import { InferdError, quote } from '../api/errors.js';
import type { InferenceService } from '../api/resources/inference-service.js';
import type { LoadedResource } from '../api/resources/manifest.js';
import type { ServingRuntime } from '../api/resources/serving-runtime.js';
import type { InferenceServiceStatus } from './isvc-status.js';
import type { Reconciler } from './reconciler.js';
import { RuntimePolicy } from './runtime-policy.js';
import { ResourceApi, type ApplyOptions, type ApplyResult } from './resource-api.js';
import { MAIN, revisionName } from './revision-spec.js';
import type { ResourceStore, StoredEvent } from './store.js';

export type IsvcWithStatus = InferenceService & { status: InferenceServiceStatus };

export interface RevisionView {
  name: string;
  number: number;
  variant: string;
  createdAt: string;
  outcome: string;
  message?: string;
}

/** The control plane's one surface for the API and CLI: stored resources plus live status. */
export class ControlPlane {
  readonly resources: ResourceApi;

  constructor(private readonly store: ResourceStore, private readonly reconciler: Reconciler, log: ConstructorParameters<typeof ResourceApi>[1]) {
    this.resources = new ResourceApi(store, log, new RuntimePolicy(reconciler.runtimePolicy));
  }

  apply(items: readonly LoadedResource[], opts: ApplyOptions): ApplyResult[] {
    const { results, changed } = this.resources.apply(items, opts);
    for (const { namespace, name } of changed.isvcs) this.reconciler.enqueue(namespace, name);
    if (changed.runtimes.length) this.reconciler.runtimesChanged();
    return results;
  }

  delete(kind: string, namespace: string, name: string): void {
    this.resources.delete(kind, namespace, name);
    if (kind === 'InferenceService') this.reconciler.enqueue(namespace, name);
  }

  private isvc(namespace: string, name: string): InferenceService {
    const stored = this.store.get('InferenceService', namespace, name);
    if (!stored) throw new InferdError('not_found', `InferenceService "${quote(name)}" not found in namespace ${quote(namespace)}`);
    return stored.resource as InferenceService;
  }

  getIsvc(namespace: string, name: string): IsvcWithStatus {
    const isvc = this.isvc(namespace, name);
    return { ...isvc, status: this.reconciler.status(isvc) };
  }

  listIsvcs(namespace?: string): IsvcWithStatus[] {
    return this.store
      .list('InferenceService')
      .map((s) => s.resource as InferenceService)
      .filter((r) => namespace === undefined || r.metadata.namespace === namespace)
      .map((r) => ({ ...r, status: this.reconciler.status(r) }));
  }

  listRuntimes(kind: 'ServingRuntime' | 'ClusterServingRuntime', namespace?: string): ServingRuntime[] {
    const { namespaced, cluster } = this.reconciler.runtimes(namespace);
    return (kind === 'ServingRuntime' ? namespaced : cluster).map((r) => r.resource);
  }

  revisions(namespace: string, name: string): RevisionView[] {
    this.isvc(namespace, name);
    return this.store.revisions(namespace, name).map((r) => ({
      name: revisionName(name, r.variant, r.number),
      number: r.number,
      variant: r.variant || MAIN,
      createdAt: r.createdAt,
      outcome: r.outcome,
      ...(r.message ? { message: r.message } : {}),
    }));
  }

  events(namespace: string, name: string): StoredEvent[] {
    this.isvc(namespace, name);
    return this.store.events(namespace, name);
  }

  /** Queue, batching and memory figures of each running revision. */
  stats(namespace: string, name: string): Array<Record<string, unknown>> {
    this.isvc(namespace, name);
    return this.reconciler.endpoints(namespace, name).map((e) => ({ revision: e.revisionName, state: e.state, memoryBytes: e.memoryBytes(), ...e.stats() }));
  }

  /** Removes canaryTrafficPercent: the latest ready revision takes all traffic. */
  promote(namespace: string, name: string): IsvcWithStatus {
    this.resources.setCanaryPercent(namespace, name, undefined);
    this.store.addEvent(namespace, name, { type: 'Normal', reason: 'Promoted', message: 'canary promoted: the latest ready revision takes all traffic' });
    this.reconciler.enqueue(namespace, name);
    return this.getIsvc(namespace, name);
  }

  /**
   * Sends all traffic back to the last rolled-out revision (canaryTrafficPercent 0);
   * after a promotion, makes the previous rolled-out revision the stable one again.
   */
  rollback(namespace: string, name: string): IsvcWithStatus {
    const rollout = this.store.rollout(namespace, name);
    const latest = this.store.revisions(namespace, name).filter((r) => r.variant === MAIN).at(-1);
    this.store.transaction(() => {
      if (rollout.latestRolledout === latest?.number) {
        if (rollout.previousRolledout === undefined) throw new InferdError('invalid_input', `InferenceService "${name}" has no previous rolled-out revision to roll back to`);
        this.store.setRollout(namespace, name, { latestRolledout: rollout.previousRolledout });
      }
      this.resources.setCanaryPercent(namespace, name, 0);
      this.store.addEvent(namespace, name, { type: 'Normal', reason: 'RolledBack', message: 'all traffic sent back to the previous rolled-out revision' });
    });
    this.reconciler.enqueue(namespace, name);
    return this.getIsvc(namespace, name);
  }

  settled(): Promise<void> {
    return this.reconciler.settled();
  }
}
