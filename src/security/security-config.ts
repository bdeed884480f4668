import { z } from 'zod';
import { ROLES } from './roles.js';

const bucket = z.strictObject({
  /** Sustained rate: tokens added per second. */
  rps: z.number().positive(),
  /** Bucket size: the burst allowed after idling. */
  burst: z.number().int().min(1),
});
export type BucketConfig = z.infer<typeof bucket>;

/** The `security` section of inferd's config. Secure by default: API keys required. */
export const securitySchema = z
  .strictObject({
    /** `none` turns authentication off (a warning is printed at start). */
    auth: z.enum(['none', 'keys', 'oidc', 'keys+oidc']).default('keys'),
    /** Health probes (`/`, `/v2/health/*`) and `/metrics` answer without credentials. */
    publicHealth: z.boolean().default(true),
    oidc: z
      .strictObject({
        issuer: z.string().min(1),
        audience: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
        /** Defaults to the issuer's discovery document's `jwks_uri`, else `<issuer>/.well-known/jwks.json`. */
        jwksUri: z.string().optional(),
        clockSkewSeconds: z.number().min(0).default(30),
        /** Minimum seconds between JWKS refetches triggered by an unknown `kid`. */
        jwksCooldownSeconds: z.number().min(0).default(30),
        /** JWKS cache lifetime: keys are refetched after this long even when every kid is known. */
        jwksMaxAgeSeconds: z.number().positive().default(600),
        algorithms: z.array(z.string()).default(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA']),
        subjectClaim: z.string().default('sub'),
        /** Claim (dotted path allowed, e.g. `realm_access.roles`) holding role names, a string or an array. */
        rolesClaim: z.string().default('roles'),
        /** Claim holding namespace names; `*` means every namespace. */
        namespacesClaim: z.string().default('namespaces'),
        /** Maps claim values (e.g. IdP group names) onto inferd roles. */
        roleMap: z.record(z.string(), z.enum(ROLES)).default({}),
        /** Namespaces granted when the token has no namespaces claim. */
        defaultNamespaces: z.array(z.string()).default([]),
      })
      .optional(),
    tls: z
      .strictObject({
        cert: z.string(),
        key: z.string(),
        /** CA bundle that client certificates must chain to (mTLS). */
        ca: z.string().optional(),
        /** `require`: mTLS, connections without a valid client certificate are refused. */
        clientAuth: z.enum(['none', 'request', 'require']).default('none'),
        /** How often the cert/key/ca files are checked for changes. */
        reloadIntervalMs: z.number().int().min(50).default(2000),
        /** Plain-HTTP port that answers 308 to HTTPS; off unless set. */
        redirectHttpPort: z.number().int().min(0).max(65535).optional(),
      })
      .optional(),
    rateLimits: z
      .strictObject({
        /** Per credential (or per client address when auth is none). */
        perKey: bucket.optional(),
        /** Per InferenceService; the `inferd.dev/rate-limit-rps` and `-burst` annotations override it. */
        perModel: bucket.optional(),
        /** Older spelling of the top-level `redis.url` (which wins when both are set). */
        redisUrl: z.string().optional(),
      })
      .prefault({}),
    limits: z
      .strictObject({
        maxHeaderBytes: z.number().int().min(1024).default(16 * 1024),
        maxConnections: z.number().int().min(1).default(1024),
        /** A client must send all headers within this time (slow-loris). */
        headersTimeoutMs: z.number().int().min(100).default(10_000),
        /** A whole request (headers and body) must arrive within this time. */
        requestTimeoutMs: z.number().int().min(100).default(120_000),
        keepAliveTimeoutMs: z.number().int().min(100).default(75_000),
        maxJsonDepth: z.number().int().min(2).default(64),
        /** Longest string in a JSON body. */
        maxStringBytes: z.number().int().min(16).default(4 * 1024 * 1024),
      })
      .prefault({}),
    audit: z
      .strictObject({
        enabled: z.boolean().default(true),
        /** Default `<dataDir>/audit.log`. */
        path: z.string().optional(),
        /** Also record every inference call's metadata (never its payload). */
        inference: z.boolean().default(false),
        /** Rotate when the file reaches this size; the chain continues in the new file. */
        maxBytes: z.number().int().min(1024).default(64 * 1024 * 1024),
        /** Rotated files kept (audit.log.1 .. audit.log.N). */
        keep: z.number().int().min(0).default(10),
      })
      .prefault({}),
  })
  .prefault({});
export type SecurityConfig = z.infer<typeof securitySchema>;

/** Relative file paths in the security section resolve against the config file's directory. */
export function resolveSecurityPaths(security: SecurityConfig, resolvePath: (p: string) => string): void {
  if (security.tls) {
    security.tls.cert = resolvePath(security.tls.cert);
    security.tls.key = resolvePath(security.tls.key);
    if (security.tls.ca !== undefined) security.tls.ca = resolvePath(security.tls.ca);
  }
  if (security.audit.path !== undefined) security.audit.path = resolvePath(security.audit.path);
}
