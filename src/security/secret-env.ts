/**
 * Model and runtime `env` values that look like credentials are shown only to callers who
 * could have written them: `deploy` in the resource's namespace (admin for cluster-scoped
 * runtimes). Everyone else who may read the resource (viewer, predictor, the dashboard's
 * stream for them) gets "<redacted>", as KServe users without edit rights would not read
 * a Secret through kubectl.
 */
import { roleAllows } from './roles.js';
import { namespaceAllowed, type Principal } from './principal.js';

export const REDACTED = '<redacted>';

const SECRET_NAME = /KEY|SECRET|TOKEN|PASS(WORD|WD)?($|_)|PWD|CREDENTIAL|AUTH|PRIVATE|SIGNATURE|SESSION|COOKIE|CERT|DSN/i;

/** Values that are credentials whatever their variable is called. */
const SECRET_VALUE = [
  /^(AKIA|ASIA)[0-9A-Z]{16}$/, // AWS access key id
  /^(sk|pk|rk)[-_][A-Za-z0-9_-]{16,}$/, // OpenAI, Stripe style
  /^(ghp|gho|ghu|ghs|github_pat|glpat|xox[abpr]|hf)_?-?[A-Za-z0-9_-]{16,}$/, // GitHub, GitLab, Slack, Hugging Face
  /^eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\./, // a JWT
  /-----BEGIN [A-Z ]*PRIVATE KEY-----/,
  /^Bearer\s+\S{8,}/i,
  /:\/\/[^/\s:@]+:[^/\s@]+@/, // a URL with a password
];

/** 32 or more key-alphabet characters mixing letters and digits: an opaque token, not a path or a word. */
function looksRandom(value: string): boolean {
  return value.length >= 32 && /^[A-Za-z0-9+/=_.-]+$/.test(value) && /[0-9]/.test(value) && /[A-Za-z]/.test(value) && !value.includes('/');
}

export function looksSecret(name: string, value: string): boolean {
  return SECRET_NAME.test(name) || SECRET_VALUE.some((re) => re.test(value)) || looksRandom(value);
}

/** Whether `p` may read `env` values of a resource in `namespace` (undefined: cluster-scoped). */
export function seesSecrets(p: Principal | undefined, namespace: string | undefined): boolean {
  if (!p) return true; // no security hook ran: auth is off or the caller is in-process
  if (roleAllows(p.roles, 'admin')) return true;
  return namespace !== undefined && roleAllows(p.roles, 'deploy') && namespaceAllowed(p, namespace);
}

/** A copy of a resource with every secret-looking `env[].value` replaced; the input is not changed. */
export function redactSecretEnv<T>(resource: T): T {
  return redact(resource, 0) as T;
}

function redact(v: unknown, depth: number): unknown {
  if (depth > 32 || typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) return v.map((x) => redact(x, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = k === 'env' && Array.isArray(x) ? x.map(redactVar) : redact(x, depth + 1);
  return out;
}

function redactVar(e: unknown): unknown {
  if (typeof e !== 'object' || e === null) return e;
  const { name, value } = e as { name?: unknown; value?: unknown };
  if (typeof value !== 'string' || value === '' || !looksSecret(typeof name === 'string' ? name : '', value)) return e;
  return { ...e, value: REDACTED };
}
