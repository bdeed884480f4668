import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload } from 'jose';
import type { SecurityConfig } from './security-config.js';
import { isRole, type Role } from './roles.js';

type OidcConfig = NonNullable<SecurityConfig['oidc']>;

export interface OidcIdentity {
  subject: string;
  roles: Role[];
  namespaces: string[] | '*';
}

/** Why a token was refused, for the audit log (never shown to the client in detail). */
export class OidcRejection extends Error {}

/**
 * Verifies bearer JWTs against the issuer's JWKS with `jose`: signature, `alg` from an
 * allow-list (so `none` and HMAC-with-public-key tricks fail), issuer, audience, expiry
 * and not-before with clock skew. The JWKS is cached; a token with an unknown `kid`
 * refetches it (at most once per cooldown), which is how key rotation is picked up.
 */
export class OidcVerifier {
  private jwks?: ReturnType<typeof createRemoteJWKSet>;
  private jwksPromise?: Promise<ReturnType<typeof createRemoteJWKSet>>;

  constructor(private readonly cfg: OidcConfig) {}

  /** Cheap shape test: three base64url parts; anything else is not for this verifier. */
  static looksLikeJwt(token: string): boolean {
    return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token);
  }

  private async keySet(): Promise<ReturnType<typeof createRemoteJWKSet>> {
    if (this.jwks) return this.jwks;
    this.jwksPromise ??= (async () => {
      const uri = this.cfg.jwksUri ?? (await discoverJwksUri(this.cfg.issuer));
      this.jwks = createRemoteJWKSet(new URL(uri), {
        cooldownDuration: this.cfg.jwksCooldownSeconds * 1000,
        cacheMaxAge: this.cfg.jwksMaxAgeSeconds * 1000,
        timeoutDuration: 5000,
      });
      return this.jwks;
    })().catch((err: unknown) => {
      this.jwksPromise = undefined;
      throw err;
    });
    return this.jwksPromise;
  }

  async verify(token: string): Promise<OidcIdentity> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, await this.keySet(), {
        issuer: this.cfg.issuer,
        audience: this.cfg.audience,
        algorithms: this.cfg.algorithms,
        clockTolerance: this.cfg.clockSkewSeconds,
        requiredClaims: ['exp'],
      }));
    } catch (err) {
      const code = err instanceof errors.JOSEError ? err.code : 'ERR_OIDC';
      throw new OidcRejection(`${code}: ${(err as Error).message}`);
    }
    const subject = claim(payload, this.cfg.subjectClaim);
    if (typeof subject !== 'string' || subject === '') throw new OidcRejection(`token has no ${this.cfg.subjectClaim} claim`);
    const roles = new Set<Role>();
    for (const v of asList(claim(payload, this.cfg.rolesClaim))) {
      const mapped = this.cfg.roleMap[v] ?? v;
      if (isRole(mapped)) roles.add(mapped);
    }
    const nsClaim = asList(claim(payload, this.cfg.namespacesClaim));
    const namespaces = nsClaim.includes('*') ? '*' : nsClaim.length ? nsClaim : this.cfg.defaultNamespaces;
    return { subject, roles: [...roles], namespaces: namespaces === '*' || namespaces.includes('*') ? '*' : [...namespaces] };
  }
}

function claim(payload: JWTPayload, path: string): unknown {
  if (path in payload) return payload[path];
  let cur: unknown = payload;
  for (const part of path.split('.')) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function asList(v: unknown): string[] {
  if (typeof v === 'string') return v.split(/[\s,]+/).filter(Boolean);
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
  return [];
}

async function discoverJwksUri(issuer: string): Promise<string> {
  const base = issuer.replace(/\/+$/, '');
  try {
    const res = await fetch(`${base}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(5000) });
    if (res.ok) {
      const doc = (await res.json()) as { jwks_uri?: unknown };
      if (typeof doc.jwks_uri === 'string') return doc.jwks_uri;
    }
  } catch {
    // Fall through to the conventional location.
  }
  return `${base}/.well-known/jwks.json`;
}
