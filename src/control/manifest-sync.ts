import { watch, type FSWatcher } from 'node:fs';
import { resolve } from 'node:path';
import { loadManifests } from '../api/resources/manifest.js';
import type { Logger } from '../observability/logger.js';
import type { ControlPlane } from './control-plane.js';

/**
 * GitOps on one machine: the `serve -f` paths are the desired state. Applying
 * them creates or updates resources; a resource whose manifest disappeared from
 * those paths is deleted. A bad edit is logged and changes nothing.
 */
export class ManifestSync {
  private readonly paths: string[];
  private watchers: FSWatcher[] = [];
  private timer?: NodeJS.Timeout;
  private running: Promise<void> = Promise.resolve();

  constructor(paths: readonly string[], private readonly control: ControlPlane, private readonly log: Logger) {
    this.paths = paths.map((p) => resolve(p));
  }

  /** Applies the manifests once; throws (for the caller to report) if any is invalid. */
  async sync(): Promise<void> {
    const items = await loadManifests(this.paths);
    const results = this.control.apply(items, { baseDir: process.cwd(), sourceOf: (i) => i.source.file, trust: 'operator' });
    const present = new Set(items.map((i) => `${i.resource.kind}/${i.resource.metadata.namespace}/${i.resource.metadata.name}`));
    for (const path of this.paths) {
      for (const r of this.control.resources.sourcedFrom(path)) {
        const id = `${r.kind}/${r.metadata.namespace}/${r.metadata.name}`;
        if (present.has(id)) continue;
        this.control.delete(r.kind, r.metadata.namespace ?? 'default', r.metadata.name);
        this.log.info({ kind: r.kind, name: r.metadata.name }, 'deleted: its manifest is gone');
      }
    }
    const changed = results.filter((r) => r.action !== 'unchanged');
    if (changed.length) this.log.info({ changes: changed.map((r) => `${r.kind}/${r.namespace}/${r.name} ${r.action}`) }, 'manifests applied');
  }

  watch(): void {
    for (const path of this.paths) {
      try {
        this.watchers.push(watch(path, () => this.schedule()));
      } catch (err) {
        this.log.warn({ path, err: (err as Error).message }, 'cannot watch manifest path; changes need a restart');
      }
    }
  }

  private schedule(): void {
    clearTimeout(this.timer);
    // Editors write files in several steps; wait for them to settle.
    this.timer = setTimeout(() => {
      this.running = this.running.then(() =>
        this.sync().catch((err: unknown) => this.log.error({ err: (err as Error).message }, `manifest change not applied: ${(err as Error).message}`)),
      );
    }, 300);
  }

  async close(): Promise<void> {
    clearTimeout(this.timer);
    for (const w of this.watchers) w.close();
    await this.running;
  }
}
