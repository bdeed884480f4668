import { useEffect, useState } from 'preact/hooks';

/**
 * Hash routing (#/models/ns/name): the server serves one index.html at /ui/ and
 * needs no fallback route; the credential never appears in the URL.
 */
export interface Route {
  page: string;
  params: string[];
}

export function parseHash(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean).map((p) => decodeURIComponent(p));
  return { page: parts[0] ?? 'models', params: parts.slice(1) };
}

export const href = (...parts: string[]): string => `#/${parts.map(encodeURIComponent).join('/')}`;

export function navigate(...parts: string[]): void {
  location.hash = href(...parts);
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(location.hash));
  useEffect(() => {
    const on = () => setRoute(parseHash(location.hash));
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}
