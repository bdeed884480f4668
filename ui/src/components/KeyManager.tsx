import { useState } from 'preact/hooks';
import { INFERD, getJson, sendJson } from '../lib/api';
import { formatTime } from '../lib/format';
import type { KeyItem } from '../lib/types';
import { useFetch } from '../lib/use-fetch';
import { ConfirmDialog } from './ConfirmDialog';
import { CopyButton } from './CopyButton';
import { ErrorBox } from './ErrorBox';

const ROLES = ['viewer', 'predictor', 'deployer', 'admin', 'metrics'];

/** Create (the full key is shown once), list by prefix, revoke. */
export function KeyManager() {
  const keys = useFetch(() => getJson<{ items: KeyItem[] }>(`${INFERD}/keys`), []);
  const [role, setRole] = useState('predictor');
  const [namespaces, setNamespaces] = useState('default');
  const [expires, setExpires] = useState('30d');
  const [description, setDescription] = useState('');
  const [created, setCreated] = useState<{ key: string; prefix: string } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [revoking, setRevoking] = useState<KeyItem | null>(null);

  const create = async (e: Event) => {
    e.preventDefault();
    setError(null);
    setCreated(null);
    const ns = namespaces.trim() === '*' ? '*' : namespaces.split(',').map((s) => s.trim()).filter(Boolean);
    if (Array.isArray(ns) && ns.length === 0) return setError(new Error('Enter at least one namespace, or * for all.'));
    setBusy(true);
    try {
      const res = await sendJson<{ key: string; item?: KeyItem; prefix?: string }>('POST', `${INFERD}/keys`, { role, namespaces: ns, expires: expires || null, ...(description.trim() ? { description: description.trim() } : {}) });
      setCreated({ key: res.key, prefix: res.item?.prefix ?? res.prefix ?? '' });
      keys.reload();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const revoke = async (k: KeyItem) => {
    setRevoking(null);
    try {
      await sendJson('DELETE', `${INFERD}/keys/${encodeURIComponent(k.id)}`);
      keys.reload();
    } catch (err) {
      setError(err);
    }
  };
  const isRevoked = (k: KeyItem) => k.revoked === true || k.state === 'revoked';

  return (
    <section aria-labelledby="keys-title">
      <h2 id="keys-title">API keys</h2>
      <form class="card form-grid" onSubmit={create} data-testid="key-form">
        <div class="field"><label for="k-role">Role</label><select id="k-role" value={role} onChange={(e) => setRole(e.currentTarget.value)} data-testid="key-role">{ROLES.map((r) => <option key={r} value={r}>{r}</option>)}</select></div>
        <div class="field"><label for="k-ns">Namespaces (comma-separated, * for all)</label><input id="k-ns" value={namespaces} onInput={(e) => setNamespaces(e.currentTarget.value)} data-testid="key-namespaces" /></div>
        <div class="field"><label for="k-exp">Expires</label><select id="k-exp" value={expires} onChange={(e) => setExpires(e.currentTarget.value)}><option value="1d">in 1 day</option><option value="7d">in 7 days</option><option value="30d">in 30 days</option><option value="90d">in 90 days</option><option value="">never</option></select></div>
        <div class="field"><label for="k-desc">Description (optional)</label><input id="k-desc" value={description} onInput={(e) => setDescription(e.currentTarget.value)} /></div>
        <div class="actions"><button type="submit" class="primary" disabled={busy} data-testid="create-key">{busy ? 'Creating…' : 'Create key'}</button></div>
      </form>
      {created ? (
        <div class="card once" role="alert" data-testid="new-key">
          <p><strong>Copy this key now: it is shown only once.</strong> inferd stores only a hash of it.</p>
          <code class="secret" data-testid="new-key-value">{created.key}</code> <CopyButton text={created.key} label="Copy key" />
          <div><button type="button" onClick={() => setCreated(null)} data-testid="dismiss-key">I have copied it</button></div>
        </div>
      ) : null}
      <ErrorBox error={error ?? keys.error} title="Key operation failed" />
      <div class="table-wrap" tabIndex={0} role="region" aria-label="API keys table">
        <table data-testid="keys">
          <thead><tr><th scope="col">Prefix</th><th scope="col">Role</th><th scope="col">Namespaces</th><th scope="col">Created</th><th scope="col">Expires</th><th scope="col">State</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
          <tbody>
            {(keys.data?.items ?? []).map((k) => (
              <tr key={k.id} data-testid="key-row" data-prefix={k.prefix}>
                <th scope="row"><code>{k.prefix}</code>{k.description ? <div class="muted">{k.description}</div> : null}</th>
                <td>{k.role}</td>
                <td>{k.namespaces === '*' ? 'all' : k.namespaces.join(', ')}</td>
                <td>{formatTime(k.createdAt)}</td>
                <td>{k.expiresAt ? formatTime(k.expiresAt) : 'never'}</td>
                <td>{isRevoked(k) ? 'revoked' : (k.state ?? 'active')}</td>
                <td>{isRevoked(k) ? null : <button type="button" class="danger" onClick={() => setRevoking(k)} aria-label={`Revoke ${k.prefix}`}>Revoke</button>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <ConfirmDialog open={revoking !== null} title="Revoke this key?" confirmLabel="Revoke" danger onCancel={() => setRevoking(null)} onConfirm={() => revoking && void revoke(revoking)}>
        <p>{revoking ? `${revoking.prefix} (${revoking.role}) stops working at once, for every client that uses it. This cannot be undone.` : ''}</p>
      </ConfirmDialog>
    </section>
  );
}
