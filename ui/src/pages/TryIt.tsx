import { ChatPlayground } from '../components/ChatPlayground';
import { ErrorBox } from '../components/ErrorBox';
import { V2Form } from '../components/V2Form';
import { getJson } from '../lib/api';
import { isLlm, nsOf, summarize } from '../lib/isvc';
import { navigate } from '../lib/router';
import { useLive } from '../lib/store';
import type { ModelMetadata } from '../lib/types';
import { useFetch } from '../lib/use-fetch';

/** V2 prediction form from the model's metadata, or a chat playground for LLMs. */
export function TryIt({ namespace, name }: { namespace: string; name: string }) {
  const { resources } = useLive();
  const isvc = resources?.find((r) => r.metadata.name === name && nsOf(r) === namespace);
  const llm = isvc ? isLlm(isvc) : false;
  const ready = isvc ? summarize(isvc).state === 'Ready' : false;
  const meta = useFetch(async () => (name && !llm ? getJson<ModelMetadata>(`/v2/models/${encodeURIComponent(name)}`, { 'inferd-namespace': namespace }) : null), [namespace, name, llm, ready]);
  return (
    <section aria-labelledby="try-title">
      <h1 id="try-title">Try it{name ? `: ${name}` : ''}</h1>
      <label for="try-model">Model</label>
      <select id="try-model" value={name ? `${namespace}/${name}` : ''} onChange={(e) => { const [n, m] = e.currentTarget.value.split('/'); if (n && m) navigate('try', n, m); }} data-testid="try-model">
        <option value="">Choose a model…</option>
        {(resources ?? []).map((r) => <option key={`${nsOf(r)}/${r.metadata.name}`} value={`${nsOf(r)}/${r.metadata.name}`}>{nsOf(r)}/{r.metadata.name}</option>)}
      </select>
      {!name ? null : !isvc ? (
        <p role="status">{resources ? 'No such model in your namespaces.' : 'Loading…'}</p>
      ) : !ready ? (
        <p role="status">The model is {summarize(isvc).state}: it can answer once it is Ready.</p>
      ) : llm ? (
        <ChatPlayground namespace={namespace} name={name} />
      ) : meta.data ? (
        <V2Form namespace={namespace} name={name} meta={meta.data} />
      ) : (
        <ErrorBox error={meta.error} title="Could not read the model's signature" />
      )}
    </section>
  );
}
