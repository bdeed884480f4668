import { useEffect, useState } from 'preact/hooks';
import { ApiError, INFERD, getJson } from './lib/api';
import { WhoContext } from './lib/auth-context';
import { clearToken, loadToken, normalizeWhoAmI, saveToken } from './lib/session';
import { live } from './lib/store';
import type { WhoAmI } from './lib/types';
import { Shell } from './components/Shell';
import { SignIn } from './pages/SignIn';

/** Checks a credential against /whoami; only a credential the server accepts is kept. */
export async function whoami(): Promise<WhoAmI> {
  return normalizeWhoAmI(await getJson<Record<string, unknown>>(`${INFERD}/whoami`));
}

export function App() {
  const [who, setWho] = useState<WhoAmI | null>(null);
  const [checking, setChecking] = useState(() => loadToken() !== null);
  const [error, setError] = useState<unknown>(null);

  // A reload keeps the session (sessionStorage); re-validate the stored credential.
  useEffect(() => {
    if (!loadToken()) return;
    whoami()
      .then(setWho)
      .catch((e: unknown) => {
        if (e instanceof ApiError && e.status === 401) clearToken();
        setError(e);
      })
      .finally(() => setChecking(false));
  }, []);

  useEffect(() => {
    if (!who) return;
    live.start();
    return () => live.reset();
  }, [who]);

  const signIn = async (token: string) => {
    saveToken(token);
    try {
      setWho(await whoami());
      setError(null);
    } catch (e) {
      clearToken();
      throw e;
    }
  };
  const signOut = () => {
    clearToken();
    live.reset();
    setWho(null);
    location.hash = '#/';
  };

  if (checking) return <p class="center" role="status">Checking your session…</p>;
  if (!who) return <SignIn onSignIn={signIn} initialError={error} />;
  return (
    <WhoContext.Provider value={who}>
      <Shell onSignOut={signOut} />
    </WhoContext.Provider>
  );
}
