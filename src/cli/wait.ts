import type { IsvcWithStatus } from '../control/control-plane.js';
import { apiRequest, type ClientOptions } from './api-client.js';
import { isvcPath } from './get.js';
import { formatProgress } from './progress.js';

export interface WaitTarget {
  namespace: string;
  name: string;
}

/**
 * Polls InferenceServices until each is Ready or its latest revision failed to load,
 * printing download progress and state changes as they come. Resolves to the names
 * that failed (a failed rollout keeps serving the previous revision, but the command fails).
 */
export async function waitForReady(opts: ClientOptions, targets: WaitTarget[], timeoutMs: number, print: (line: string) => void): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  const pending = new Map(targets.map((t) => [`${t.namespace}/${t.name}`, t]));
  const last = new Map<string, string>();
  const failed: string[] = [];
  while (pending.size) {
    for (const [key, t] of pending) {
      const isvc = (await apiRequest(opts, 'GET', isvcPath(t.namespace, t.name))) as IsvcWithStatus;
      const s = isvc.status;
      const target = s.modelStatus.states.targetModelState;
      const latestReady = s.components.predictor.latestCreatedRevision !== undefined && s.components.predictor.latestCreatedRevision === s.components.predictor.latestReadyRevision;
      const line = s.modelStatus.download ? `downloading ${formatProgress(s.modelStatus.download)}` : target || 'Pending';
      if (last.get(key) !== line) print(`${key}: ${line}`);
      last.set(key, line);
      if (target === 'FailedToLoad') {
        const f = s.modelStatus.lastFailureInfo;
        print(`${key}: failed to load${f ? `: ${f.reason}: ${f.message}` : ''}`);
        failed.push(key);
        pending.delete(key);
      } else if (latestReady && s.conditions.some((c) => c.type === 'Ready' && c.status === 'True')) {
        print(`${key}: Ready (${s.components.predictor.latestReadyRevision})`);
        pending.delete(key);
      }
    }
    if (!pending.size) break;
    if (Date.now() > deadline) throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${[...pending.keys()].join(', ')}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  return failed;
}
