import { useState } from 'preact/hooks';
import { ErrorBox } from '../components/ErrorBox';

/**
 * Sign-in with an API key or an OIDC bearer token. The credential is kept in
 * sessionStorage only and checked with /whoami before the dashboard opens.
 */
export function SignIn({ onSignIn, initialError }: { onSignIn: (token: string) => Promise<void>; initialError: unknown }) {
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(initialError);
  const submit = async (e: Event) => {
    e.preventDefault();
    const t = token.trim().replace(/^Bearer\s+/i, '');
    if (!t) return setError(new Error('Paste an API key (ik_…) or an OIDC access token first.'));
    setBusy(true);
    setError(null);
    try {
      await onSignIn(t);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="signin" id="main">
      <h1>inferd</h1>
      <form onSubmit={submit} class="card" data-testid="signin-form">
        <h2>Sign in</h2>
        <label for="token">API key or OIDC bearer token</label>
        <input id="token" type="password" autocomplete="off" spellcheck={false} value={token} onInput={(e) => setToken(e.currentTarget.value)} placeholder="ik_…" />
        <p class="muted">
          The bootstrap admin key is in <code>&lt;data-dir&gt;/admin.key</code>; <code>inferd keys create</code> makes others. It stays in this tab only (sessionStorage) and is sent as an Authorization header.
        </p>
        <button type="submit" class="primary" disabled={busy}>{busy ? 'Checking…' : 'Sign in'}</button>
        <ErrorBox error={error} title="Sign-in failed" />
      </form>
    </main>
  );
}
