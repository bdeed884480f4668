import { useWho } from '../lib/auth-context';
import { toYaml } from '../lib/yaml';

export interface FormValues {
  name: string;
  namespace: string;
  format: string;
  storageUri: string;
  runtime: string;
  minReplicas: string;
  maxReplicas: string;
  canary: string;
}

export const EMPTY_FORM: FormValues = { name: '', namespace: 'default', format: 'onnx', storageUri: '', runtime: '', minReplicas: '1', maxReplicas: '1', canary: '' };

const FORMATS = ['onnx', 'sklearn', 'xgboost', 'lightgbm', 'tensorflow', 'gguf'];

/** Maps a server field path to the form field that produces it, for inline errors. */
export function formFieldOf(path: string | undefined): keyof FormValues | undefined {
  if (!path) return undefined;
  if (/metadata\.name/.test(path)) return 'name';
  if (/metadata\.namespace/.test(path)) return 'namespace';
  if (/storageUri/.test(path)) return 'storageUri';
  if (/modelFormat/.test(path)) return 'format';
  if (/runtime/.test(path)) return 'runtime';
  if (/minReplicas/.test(path)) return 'minReplicas';
  if (/maxReplicas/.test(path)) return 'maxReplicas';
  if (/canaryTrafficPercent/.test(path)) return 'canary';
  return undefined;
}

export function formToYaml(v: FormValues): string {
  const num = (s: string) => (s.trim() === '' ? undefined : Number(s));
  return toYaml({
    apiVersion: 'serving.kserve.io/v1beta1',
    kind: 'InferenceService',
    metadata: { name: v.name.trim(), namespace: v.namespace.trim() || 'default' },
    spec: {
      predictor: {
        minReplicas: num(v.minReplicas),
        maxReplicas: num(v.maxReplicas),
        canaryTrafficPercent: num(v.canary),
        model: { modelFormat: { name: v.format }, runtime: v.runtime.trim() || undefined, storageUri: v.storageUri.trim() || undefined },
      },
    },
  }) + '\n';
}

/** The form fields; an error for a field is shown under it and linked by aria-describedby. */
export function DeployForm({ values, onChange, errors }: { values: FormValues; onChange: (v: FormValues) => void; errors: Partial<Record<keyof FormValues, string>> }) {
  const who = useWho();
  const field = (k: keyof FormValues, label: string, props: Record<string, unknown> = {}, help?: string) => (
    <div class={`field${errors[k] ? ' invalid' : ''}`}>
      <label for={`f-${k}`}>{label}</label>
      <input id={`f-${k}`} name={k} value={values[k]} onInput={(e) => onChange({ ...values, [k]: e.currentTarget.value })} aria-invalid={errors[k] ? true : undefined} aria-describedby={errors[k] ? `f-${k}-err` : help ? `f-${k}-help` : undefined} {...props} />
      {help && !errors[k] ? <small id={`f-${k}-help`} class="muted">{help}</small> : null}
      {errors[k] ? <small id={`f-${k}-err`} class="field-error" data-testid={`field-error-${k}`}>{errors[k]}</small> : null}
    </div>
  );
  return (
    <div class="form-grid">
      {field('name', 'Name', { required: true, pattern: '[a-z0-9]([-a-z0-9]*[a-z0-9])?', autocomplete: 'off' }, 'lowercase letters, digits and dashes')}
      <div class={`field${errors.namespace ? ' invalid' : ''}`}>
        <label for="f-namespace">Namespace</label>
        {who.namespaces === '*' ? (
          <input id="f-namespace" value={values.namespace} onInput={(e) => onChange({ ...values, namespace: e.currentTarget.value })} aria-invalid={errors.namespace ? true : undefined} aria-describedby={errors.namespace ? 'f-namespace-err' : undefined} />
        ) : (
          <select id="f-namespace" value={values.namespace} onChange={(e) => onChange({ ...values, namespace: e.currentTarget.value })}>
            {who.namespaces.map((n) => <option key={n} value={n}>{n}</option>)}
          </select>
        )}
        {errors.namespace ? <small id="f-namespace-err" class="field-error">{errors.namespace}</small> : null}
      </div>
      <div class={`field${errors.format ? ' invalid' : ''}`}>
        <label for="f-format">Format</label>
        <select id="f-format" value={values.format} onChange={(e) => onChange({ ...values, format: e.currentTarget.value })}>
          {FORMATS.map((f) => <option key={f} value={f}>{f}</option>)}
        </select>
        {errors.format ? <small class="field-error">{errors.format}</small> : null}
      </div>
      {field('storageUri', 'Storage URI', { placeholder: 'file:///models/iris or s3://bucket/path' }, 'file://, pvc://, s3://, gs:// or https://')}
      {field('runtime', 'Runtime (optional)', { placeholder: 'auto-selected from the format' })}
      {field('minReplicas', 'Min replicas', { type: 'number', min: 0, max: 64 }, '0 loads on the first request')}
      {field('maxReplicas', 'Max replicas', { type: 'number', min: 1, max: 64 })}
      {field('canary', 'Canary percent (optional)', { type: 'number', min: 0, max: 100 }, 'share of traffic for the new revision of an existing model')}
    </div>
  );
}
