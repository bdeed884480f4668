import { StateBadge } from './StateBadge';
import { summarize } from '../lib/isvc';
import type { Applied } from '../lib/apply';
import { href } from '../lib/router';
import { useLive } from '../lib/store';

/**
 * After an apply: each InferenceService's state from the watched resources,
 * until it is Ready or FailedToLoad (with the reason and what to do).
 */
export function ApplyProgress({ applied }: { applied: Applied[] }) {
  const { resources } = useLive();
  const isvcs = applied.filter((a) => a.kind === 'InferenceService');
  return (
    <section class="card" aria-labelledby="progress-title" data-testid="apply-progress">
      <h2 id="progress-title">Applied</h2>
      <ul class="plain">
        {applied.filter((a) => a.kind !== 'InferenceService').map((a) => (
          <li key={`${a.kind}/${a.namespace}/${a.name}`}>{a.kind} {a.namespace}/{a.name}: {a.action}</li>
        ))}
        {isvcs.map((a) => {
          const r = resources?.find((i) => i.metadata.name === a.name && (i.metadata.namespace ?? 'default') === a.namespace);
          const s = r ? summarize(r) : null;
          const done = s?.state === 'Ready' || s?.state === 'FailedToLoad';
          return (
            <li key={`${a.namespace}/${a.name}`} data-testid="progress-item" data-model={a.name} data-state={s?.state ?? 'Pending'}>
              <a href={href('models', a.namespace, a.name)}>{a.namespace}/{a.name}</a> ({a.action}){' '}
              {s ? <StateBadge state={s.state} reason={s.reason} /> : <span role="status">waiting for status…</span>}
              {!done ? <progress aria-label={`${a.name} loading`} /> : null}
              {s?.state === 'FailedToLoad' ? <div class="error" role="alert">{s.reason} <div class="hint">Fix the spec (storage URI, format, runtime) and apply again; the previous revision, if any, keeps serving.</div></div> : null}
            </li>
          );
        })}
      </ul>
    </section>
  );
}
