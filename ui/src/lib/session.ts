import type { Permission, WhoAmI } from './types';

/**
 * The credential lives in sessionStorage only: it is gone when the tab closes,
 * is never put in a URL, and is sent only as an Authorization header.
 */
const KEY = 'inferd.token';

export function loadToken(): string | null {
  try {
    return sessionStorage.getItem(KEY);
  } catch {
    return null;
  }
}

export function saveToken(token: string): void {
  sessionStorage.setItem(KEY, token);
}

export function clearToken(): void {
  sessionStorage.removeItem(KEY);
}

const RANK: Record<string, number> = { viewer: 1, predictor: 2, deployer: 3, admin: 4 };
const BY_RANK: Permission[][] = [[], ['read'], ['read', 'infer'], ['read', 'infer', 'deploy'], ['read', 'infer', 'deploy', 'admin']];

/**
 * Accepts the documented whoami shape and older servers' `{principal, kind, roles}`,
 * deriving permissions from roles when the server does not list them.
 */
export function normalizeWhoAmI(raw: Record<string, unknown>): WhoAmI {
  const roles = Array.isArray(raw.roles) ? raw.roles.map(String) : [];
  const namespaces = raw.namespaces === '*' ? '*' : Array.isArray(raw.namespaces) ? raw.namespaces.map(String) : '*';
  const top = Math.max(0, ...roles.map((r) => RANK[r] ?? 0));
  const permissions = Array.isArray(raw.permissions) ? (raw.permissions as Permission[]) : raw.principal === 'anonymous' && roles.length === 0 ? BY_RANK[4]! : BY_RANK[top]!;
  const auth = raw.auth === 'none' || raw.auth === 'key' || raw.auth === 'oidc' ? raw.auth : raw.kind === 'oidc' ? 'oidc' : raw.principal === 'anonymous' ? 'none' : 'key';
  return { subject: String(raw.subject ?? raw.principal ?? 'unknown'), roles, namespaces, permissions, auth };
}

export const can = (who: WhoAmI | null, p: Permission): boolean => !!who && who.permissions.includes(p);

export const seesNamespace = (who: WhoAmI | null, ns: string): boolean => !!who && (who.namespaces === '*' || who.namespaces.includes(ns));
