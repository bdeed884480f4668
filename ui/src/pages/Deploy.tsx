import { useState } from 'preact/hooks';
import { ApplyProgress } from '../components/ApplyProgress';
import { DeployForm, EMPTY_FORM, formFieldOf, formToYaml, type FormValues } from '../components/DeployForm';
import { ErrorBox } from '../components/ErrorBox';
import { ApiError } from '../lib/api';
import { applyYaml, lineOfField, type Applied } from '../lib/apply';
import { useWho } from '../lib/auth-context';
import { live } from '../lib/store';

const SAMPLE = `apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata:
  name: my-model
  namespace: default
spec:
  predictor:
    model:
      modelFormat:
        name: onnx
      storageUri: file:///path/to/model-dir
`;

/** Deploy from pasted or uploaded YAML, or from a form that writes the YAML. */
export function Deploy() {
  const who = useWho();
  const [mode, setMode] = useState<'yaml' | 'form'>('yaml');
  const [yaml, setYaml] = useState(SAMPLE);
  const [form, setForm] = useState<FormValues>(() => ({ ...EMPTY_FORM, namespace: who.namespaces === '*' ? 'default' : (who.namespaces[0] ?? 'default') }));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | Error | null>(null);
  const [applied, setApplied] = useState<Applied[] | null>(null);

  const body = mode === 'yaml' ? yaml : formToYaml(form);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setApplied(null);
    try {
      const result = await applyYaml(body);
      setApplied(result);
      await live.refreshResources();
    } catch (err) {
      setError(err instanceof Error ? err : new Error(String(err)));
    } finally {
      setBusy(false);
    }
  };
  const upload = async (e: Event) => {
    const file = (e.currentTarget as HTMLInputElement).files?.[0];
    if (file) setYaml(await file.text());
  };

  const field = error instanceof ApiError ? error.field : undefined;
  const formField = mode === 'form' ? formFieldOf(field) : undefined;
  const line = mode === 'yaml' && field ? lineOfField(yaml, field) : undefined;

  return (
    <section aria-labelledby="deploy-title">
      <h1 id="deploy-title">Deploy</h1>
      <div role="radiogroup" aria-label="Input" class="segmented">
        <label><input type="radio" name="mode" checked={mode === 'yaml'} onChange={() => setMode('yaml')} data-testid="mode-yaml" /> YAML</label>
        <label><input type="radio" name="mode" checked={mode === 'form'} onChange={() => setMode('form')} data-testid="mode-form" /> Form</label>
      </div>
      <form onSubmit={submit} class="card" data-testid="deploy-form">
        {mode === 'yaml' ? (
          <>
            <label for="yaml">InferenceService / ServingRuntime YAML (one or many documents)</label>
            <textarea id="yaml" rows={16} spellcheck={false} value={yaml} onInput={(e) => setYaml(e.currentTarget.value)} aria-invalid={field ? true : undefined} aria-describedby={field ? 'yaml-err' : undefined} data-testid="yaml" />
            <label for="upload">Or upload a file</label>
            <input id="upload" type="file" accept=".yaml,.yml,.json" onChange={upload} />
            {field ? <p id="yaml-err" class="field-error" data-testid="yaml-field-error">Field <code>{field}</code>{line ? ` (line ${line})` : ''}: {error?.message}</p> : null}
          </>
        ) : (
          <>
            <DeployForm values={form} onChange={setForm} errors={formField && error ? { [formField]: error.message } : {}} />
            <details>
              <summary>YAML that will be applied</summary>
              <pre data-testid="form-yaml">{body}</pre>
            </details>
          </>
        )}
        <div class="actions">
          <button type="submit" class="primary" disabled={busy} data-testid="apply">{busy ? 'Applying…' : 'Apply'}</button>
          {busy ? <progress aria-label="Applying" /> : null}
        </div>
        {error && !(field && (line || formField)) ? <ErrorBox error={error} title="Apply failed" /> : null}
        {error && field && (line || formField) ? <p class="hint" role="alert">Apply failed: fix the field marked above and apply again.</p> : null}
      </form>
      {applied ? <ApplyProgress applied={applied} /> : null}
    </section>
  );
}
