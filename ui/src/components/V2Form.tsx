import { useEffect, useState } from 'preact/hooks';
import { request } from '../lib/api';
import { exampleData, exampleShape } from '../lib/examples';
import type { ModelMetadata } from '../lib/types';
import { ErrorBox } from './ErrorBox';

interface InputState {
  shape: string;
  data: string;
}

/** A form generated from the model's V2 metadata; data is a JSON array (nested or flat). */
export function V2Form({ namespace, name, meta }: { namespace: string; name: string; meta: ModelMetadata }) {
  const inputs = meta.inputs ?? [];
  const [values, setValues] = useState<Record<string, InputState>>({});
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [result, setResult] = useState<{ body: unknown; ms: number; revision: string | null } | null>(null);
  useEffect(() => {
    setValues(Object.fromEntries(inputs.map((t) => [t.name, { shape: exampleShape(t).join(','), data: JSON.stringify(exampleData(t)) }])));
    setResult(null);
  }, [meta]);

  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    let body: string;
    try {
      body = JSON.stringify({
        inputs: inputs.map((t) => {
          const v = values[t.name] ?? { shape: '', data: '' };
          let data: unknown;
          try {
            data = JSON.parse(v.data);
          } catch {
            throw new Error(`input ${t.name}: data is not valid JSON. Enter a JSON array such as [1, 2, 3].`);
          }
          if (!Array.isArray(data)) throw new Error(`input ${t.name}: data must be a JSON array, e.g. [${String(data)}].`);
          const shape = v.shape.split(',').map((s) => Number(s.trim()));
          if (shape.some((n) => !Number.isInteger(n) || n < 0)) throw new Error(`input ${t.name}: shape must be comma-separated non-negative integers, e.g. 1,4.`);
          return { name: t.name, datatype: t.datatype, shape, data };
        }),
      });
    } catch (err) {
      return setError(err);
    }
    setBusy(true);
    const t0 = performance.now();
    try {
      const res = await request(`/v2/models/${encodeURIComponent(name)}/infer`, { method: 'POST', headers: { 'content-type': 'application/json', 'inferd-namespace': namespace }, body });
      const json = (await res.json()) as unknown;
      setResult({ body: json, ms: performance.now() - t0, revision: res.headers.get('inferd-revision') });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form onSubmit={submit} class="card" data-testid="v2-form">
      {inputs.map((t) => {
        const v = values[t.name] ?? { shape: '', data: '' };
        const set = (patch: Partial<InputState>) => setValues({ ...values, [t.name]: { ...v, ...patch } });
        return (
          <fieldset key={t.name}>
            <legend><code>{t.name}</code> · {t.datatype} · shape [{t.shape.join(', ')}]</legend>
            <label for={`shape-${t.name}`}>Shape</label>
            <input id={`shape-${t.name}`} value={v.shape} onInput={(e) => set({ shape: e.currentTarget.value })} data-testid={`shape-${t.name}`} />
            <label for={`data-${t.name}`}>Data (JSON array)</label>
            <textarea id={`data-${t.name}`} rows={3} spellcheck={false} value={v.data} onInput={(e) => set({ data: e.currentTarget.value })} data-testid={`data-${t.name}`} />
          </fieldset>
        );
      })}
      <div class="actions">
        <button type="submit" class="primary" disabled={busy} data-testid="predict">{busy ? 'Predicting…' : 'Predict'}</button>
        {busy ? <progress aria-label="Predicting" /> : null}
      </div>
      <ErrorBox error={error} title="Prediction failed" />
      {result ? (
        <div data-testid="v2-result">
          <p role="status">Answered in <strong data-testid="latency">{result.ms.toFixed(1)} ms</strong>{result.revision ? ` by ${result.revision}` : ''}.</p>
          <pre tabIndex={0} data-testid="v2-response">{JSON.stringify(result.body, null, 2)}</pre>
        </div>
      ) : null}
    </form>
  );
}
