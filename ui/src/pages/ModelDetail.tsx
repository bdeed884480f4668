import { ErrorBox } from '../components/ErrorBox';
import { StateBadge } from '../components/StateBadge';
import { TrafficBars } from '../components/TrafficBars';
import { Conditions } from '../components/detail/Conditions';
import { Events } from '../components/detail/Events';
import { LiveCharts } from '../components/detail/LiveCharts';
import { Logs } from '../components/detail/Logs';
import { Revisions } from '../components/detail/Revisions';
import { Signature } from '../components/detail/Signature';
import { Snippets } from '../components/detail/Snippets';
import { getJson, inferdIsvcPath, isvcPath } from '../lib/api';
import { useWho } from '../lib/auth-context';
import { isLlm, summarize } from '../lib/isvc';
import { href } from '../lib/router';
import { can } from '../lib/session';
import { useLive } from '../lib/store';
import type { InferenceService, KEvent, ModelMetadata, Revision } from '../lib/types';
import { useFetch } from '../lib/use-fetch';

/** One InferenceService: status, traffic, revisions, events, live charts, logs, signature, snippets. */
export function ModelDetail({ namespace, name }: { namespace: string; name: string }) {
  const who = useWho();
  const { resources } = useLive();
  const fetched = useFetch(() => getJson<InferenceService>(isvcPath(namespace, name)), [namespace, name]);
  // The watched list is fresher than the one-off fetch once it has the model.
  const isvc = resources?.find((r) => r.metadata.name === name && (r.metadata.namespace ?? 'default') === namespace) ?? fetched.data;
  // Revisions and events change when the status does: refetch on that, not every second.
  const version = isvc ? JSON.stringify([isvc.metadata.generation, isvc.status?.conditions, isvc.status?.components?.predictor?.traffic]) : '';
  const revisions = useFetch(() => getJson<{ items: Revision[] }>(`${inferdIsvcPath(namespace, name)}/revisions`), [namespace, name, version]);
  const events = useFetch(() => getJson<{ items: KEvent[] }>(`${inferdIsvcPath(namespace, name)}/events`), [namespace, name, version]);
  const ready = isvc ? summarize(isvc).state === 'Ready' : false;
  const meta = useFetch(() => getJson<ModelMetadata>(`/v2/models/${encodeURIComponent(name)}`, { 'inferd-namespace': namespace }), [namespace, name, ready]);

  if (!isvc) {
    return (
      <section>
        <h1>{name}</h1>
        {fetched.loading ? <p role="status">Loading…</p> : <ErrorBox error={fetched.error} title={`Could not load ${namespace}/${name}`} />}
        <p><a href={href('models')}>Back to models</a></p>
      </section>
    );
  }
  const s = summarize(isvc);
  const llm = isLlm(isvc);
  const pred = isvc.status?.components?.predictor;
  return (
    <section aria-labelledby="detail-title" data-testid="model-detail">
      <div class="page-head">
        <h1 id="detail-title">{name} <span class="muted">in {namespace}</span></h1>
        <StateBadge state={s.state} reason={s.reason} />
        <div class="head-actions">
          {can(who, 'infer') ? <a class="button" href={href('try', namespace, name)}>Try it</a> : null}
          {can(who, 'deploy') ? <a class="button" href={href('rollout', namespace, name)}>Rollout</a> : null}
        </div>
      </div>
      {s.reason ? <p class={s.state === 'FailedToLoad' ? 'error' : 'muted'} data-testid="detail-reason">{s.reason}</p> : null}
      <dl class="facts">
        <dt>Runtime</dt><dd>{s.runtime}</dd>
        <dt>Format</dt><dd>{s.format}</dd>
        <dt>Storage</dt><dd><code>{isvc.spec.predictor.model?.storageUri ?? '—'}</code></dd>
        <dt>URL</dt><dd><code>{s.url || '—'}</code></dd>
        <dt>Canary</dt><dd>{s.canary === null ? 'none' : `${s.canary}% to the latest revision`}</dd>
      </dl>
      <h2>Traffic</h2>
      <TrafficBars traffic={pred?.traffic ?? []} />
      <h2>Conditions</h2>
      <Conditions conditions={isvc.status?.conditions ?? []} />
      <h2>Live</h2>
      <LiveCharts modelKey={`${namespace}/${name}`} />
      <h2>Revisions</h2>
      <ErrorBox error={revisions.error} title="Could not load revisions" />
      <Revisions revisions={revisions.data?.items ?? []} latestRolledout={pred?.latestRolledoutRevision} />
      <h2>Events</h2>
      <ErrorBox error={events.error} title="Could not load events" />
      <Events events={events.data?.items ?? []} />
      {can(who, 'deploy') ? (
        <>
          <h2>Logs</h2>
          <Logs namespace={namespace} name={name} />
        </>
      ) : null}
      <h2>Signature</h2>
      {meta.data ? <Signature meta={meta.data} /> : meta.error ? <p class="muted">{ready ? 'No V2 signature for this model.' : 'The signature appears once the model is Ready.'}</p> : <p role="status">Loading…</p>}
      <h2>Use it</h2>
      <Snippets namespace={namespace} name={name} inputs={meta.data?.inputs ?? []} llm={llm} />
    </section>
  );
}
