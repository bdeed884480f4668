import { useEffect, useState } from 'preact/hooks';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { ErrorBox } from '../components/ErrorBox';
import { TrafficBars } from '../components/TrafficBars';
import { inferdIsvcPath, sendJson } from '../lib/api';
import { applyYaml } from '../lib/apply';
import { nsOf } from '../lib/isvc';
import { href, navigate } from '../lib/router';
import { live, useLive } from '../lib/store';
import type { InferenceService } from '../lib/types';
import { applyBody, toYaml } from '../lib/yaml';

type Action = 'canary' | 'promote' | 'rollback';

/** Canary percent, promote and roll back, each confirmed with a sentence saying what changes. */
export function Rollout({ namespace, name }: { namespace: string; name: string }) {
  const { resources } = useLive();
  const isvc = resources?.find((r) => r.metadata.name === name && nsOf(r) === namespace);
  const current = isvc?.spec.predictor.canaryTrafficPercent;
  const [percent, setPercent] = useState<number>(current ?? 0);
  const [pending, setPending] = useState<Action | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState('');
  useEffect(() => setPercent(current ?? 0), [current, name, namespace]);

  if (!name) {
    return (
      <section>
        <h1>Rollout</h1>
        <label for="pick">Model</label>
        <select id="pick" onChange={(e) => { const [n, m] = e.currentTarget.value.split('/'); if (n && m) navigate('rollout', n, m); }}>
          <option value="">Choose a model…</option>
          {(resources ?? []).map((r) => <option key={`${nsOf(r)}/${r.metadata.name}`} value={`${nsOf(r)}/${r.metadata.name}`}>{nsOf(r)}/{r.metadata.name}</option>)}
        </select>
      </section>
    );
  }
  if (!isvc) return <section><h1>Rollout: {name}</h1><p role="status">{resources ? `No model ${namespace}/${name} (or it is in a namespace you cannot see).` : 'Loading…'}</p></section>;

  const p = isvc.status?.components?.predictor;
  const latest = p?.latestCreatedRevision ?? 'the latest revision';
  const stable = p?.latestRolledoutRevision ?? 'the rolled-out revision';
  const previous = p?.previousRolledoutRevision;
  const inCanary = p?.latestRolledoutRevision !== undefined && p.latestRolledoutRevision !== p.latestCreatedRevision;

  const run = async (a: Action) => {
    setPending(null);
    setBusy(true);
    setError(null);
    setDone('');
    try {
      if (a === 'canary') {
        const next: InferenceService = { ...isvc, spec: { ...isvc.spec, predictor: { ...isvc.spec.predictor, canaryTrafficPercent: percent } } };
        await applyYaml(toYaml(applyBody(next, true)) + '\n');
        setDone(`Canary set to ${percent}%.`);
      } else {
        await sendJson('POST', `${inferdIsvcPath(namespace, name)}/rollout/${a}`);
        setDone(a === 'promote' ? 'Promoted.' : 'Rolled back.');
      }
      await live.refreshResources();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  const dialogText: Record<Action, string> = {
    canary: inCanary
      ? `${latest} will get ${percent}% of the traffic and ${stable} ${100 - percent}% (now: ${current ?? 100}% / ${100 - (current ?? 100)}%).`
      : `canaryTrafficPercent becomes ${percent}. Only one revision is rolled out now, so traffic does not change until the next revision is deployed; that revision will then get ${percent}%.`,
    promote: `canaryTrafficPercent is removed and ${latest} takes 100% of the traffic once ready.`,
    rollback: inCanary || !previous ? `All traffic goes back to ${stable} (canaryTrafficPercent 0); ${latest} keeps no traffic.` : `All traffic goes back to ${previous}, the previous rolled-out revision (canaryTrafficPercent 0).`,
  };
  const titles: Record<Action, string> = { canary: `Set canary to ${percent}%?`, promote: 'Promote the canary?', rollback: 'Roll back?' };

  return (
    <section aria-labelledby="rollout-title" data-testid="rollout">
      <div class="page-head">
        <h1 id="rollout-title">Rollout: {name} <span class="muted">in {namespace}</span></h1>
        <a href={href('models', namespace, name)}>Model details</a>
      </div>
      <h2>Traffic now</h2>
      <TrafficBars traffic={p?.traffic ?? []} />
      <p class="muted">Rolled out: {stable}{previous ? `; previous: ${previous}` : ''}; latest: {latest}. {inCanary ? 'A canary is in progress.' : 'No canary in progress.'}</p>
      <div class="card">
        <label for="canary">Canary traffic to the latest revision: <output for="canary" data-testid="canary-value">{percent}%</output></label>
        <input id="canary" type="range" min={0} max={100} step={5} value={percent} onInput={(e) => setPercent(Number(e.currentTarget.value))} data-testid="canary-slider" aria-valuetext={`${percent} percent`} />
        <div class="actions">
          <button type="button" class="primary" disabled={busy || percent === current} onClick={() => setPending('canary')} data-testid="set-canary">Set canary</button>
          <button type="button" disabled={busy} onClick={() => setPending('promote')} data-testid="promote">Promote</button>
          <button type="button" class="danger" disabled={busy} onClick={() => setPending('rollback')} data-testid="rollback">Roll back</button>
          {busy ? <progress aria-label="Working" /> : null}
        </div>
        <p role="status" class="ok">{done}</p>
        <ErrorBox error={error} title="Rollout failed" />
      </div>
      <ConfirmDialog open={pending !== null} title={pending ? titles[pending] : ''} confirmLabel={pending === 'rollback' ? 'Roll back' : pending === 'promote' ? 'Promote' : 'Set canary'} danger={pending === 'rollback'} onCancel={() => setPending(null)} onConfirm={() => pending && void run(pending)}>
        <p data-testid="confirm-text">{pending ? `${namespace}/${name}: ${dialogText[pending]}` : ''}</p>
      </ConfirmDialog>
    </section>
  );
}
