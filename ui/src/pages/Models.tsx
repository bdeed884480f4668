import { useMemo, useState } from 'preact/hooks';
import { ErrorBox } from '../components/ErrorBox';
import { ModelRow } from '../components/ModelRow';
import { useWho } from '../lib/auth-context';
import { summarize, type ModelSummary } from '../lib/isvc';
import { href } from '../lib/router';
import { can } from '../lib/session';
import { useLive } from '../lib/store';

/** All InferenceServices the principal can see, with live RPS and p95 from the `top` stream. */
export function Models() {
  const who = useWho();
  const { resources, topByModel, error } = useLive();
  const [ns, setNs] = useState('');
  const [q, setQ] = useState('');
  // Summaries only change when the resource list does, not on every top event.
  const summaries = useMemo(() => (resources ?? []).map(summarize).sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name)), [resources]);
  const namespaces = useMemo(() => [...new Set(summaries.map((s) => s.namespace))].sort(), [summaries]);
  const needle = q.trim().toLowerCase();
  const shown = summaries.filter((s: ModelSummary) => (!ns || s.namespace === ns) && (!needle || `${s.name} ${s.runtime} ${s.format} ${s.state}`.toLowerCase().includes(needle)));
  const canInfer = can(who, 'infer');
  const canDeploy = can(who, 'deploy');

  return (
    <section aria-labelledby="models-title">
      <div class="page-head">
        <h1 id="models-title">Models</h1>
        {canDeploy ? <a class="button primary" href={href('deploy')}>Deploy a model</a> : null}
      </div>
      <div class="filters">
        <label>
          Namespace
          <select value={ns} onChange={(e) => setNs(e.currentTarget.value)} data-testid="ns-filter">
            <option value="">All namespaces</option>
            {namespaces.map((n) => <option key={n} value={n}>{n}</option>)}
          </select>
        </label>
        <label>
          Search
          <input type="search" value={q} onInput={(e) => setQ(e.currentTarget.value)} placeholder="name, runtime, format, state" data-testid="search" />
        </label>
        <span class="muted" role="status">{resources ? `${shown.length} of ${summaries.length} models` : 'Loading models…'}</span>
      </div>
      <ErrorBox error={error} title="Could not load models" />
      {resources && summaries.length === 0 ? (
        <p class="empty">No models yet. {canDeploy ? <a href={href('deploy')}>Deploy one</a> : 'Ask a deployer to deploy one in your namespaces.'}</p>
      ) : (
        <div class="table-wrap" tabIndex={0} role="region" aria-label="Models table">
          <table class="models">
            <thead>
              <tr>
                <th scope="col">Name</th><th scope="col">Namespace</th><th scope="col">State</th><th scope="col">Runtime</th><th scope="col">Format</th><th scope="col">URL</th>
                <th scope="col" class="num">Replicas</th><th scope="col" class="num">Memory</th><th scope="col" class="num">RPS</th><th scope="col" class="num">p95</th><th scope="col"><span class="sr-only">Actions</span></th>
              </tr>
            </thead>
            <tbody>
              {shown.map((m) => {
                const t = topByModel.get(m.key);
                const desired = t?.replicas?.desired ?? m.minReplicas;
                return (
                  <ModelRow key={m.key} m={m} rps={t ? Math.round(t.rps * 10) / 10 : null} p95={t?.p95 ?? null} memory={t ? t.memoryBytes : null}
                    replicas={`${t?.replicas?.current ?? (t ? 1 : 0)}/${desired ?? 1}`} canInfer={canInfer} canDeploy={canDeploy} />
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
