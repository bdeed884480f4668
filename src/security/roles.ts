import { NAMESPACE_PREFIX } from '../protocols/http/routing.js';

/**
 * Roles, permissions and the ONE table saying which permission each route needs.
 * A route not in the table (and without `config.permission`) needs `admin`: new
 * routes are closed until someone decides otherwise.
 */
export const ROLES = ['viewer', 'predictor', 'deployer', 'admin', 'metrics'] as const;
export type Role = (typeof ROLES)[number];

/**
 * - `static`: never needs credentials: the dashboard's static files, which hold no data.
 * - `public`: no credentials (health probes; /metrics with `observability.metrics.public`) when `security.publicHealth` is on, else any role.
 * - `read`: model metadata and readiness, resource status (viewer and up).
 * - `infer`: inference calls (predictor and up).
 * - `deploy`: apply/delete/rollout in the principal's namespaces (deployer and up).
 * - `admin`: keys, cluster-scoped resources, server-wide views.
 * - `metrics`: `GET /metrics`, which names every namespace and model: admin, and the
 *   `metrics` role, a scrape key that can do nothing else (unless `observability.metrics.public`).
 */
export const PERMISSIONS = ['static', 'public', 'read', 'infer', 'deploy', 'admin', 'metrics'] as const;
export type Permission = (typeof PERMISSIONS)[number];

export const ROLE_PERMISSIONS: Record<Role, ReadonlySet<Permission>> = {
  viewer: new Set(['static', 'public', 'read']),
  predictor: new Set(['static', 'public', 'read', 'infer']),
  deployer: new Set(['static', 'public', 'read', 'infer', 'deploy']),
  admin: new Set(['static', 'public', 'read', 'infer', 'deploy', 'admin', 'metrics']),
  metrics: new Set(['static', 'public', 'metrics']),
};

export function isRole(v: unknown): v is Role {
  return typeof v === 'string' && (ROLES as readonly string[]).includes(v);
}

export function roleAllows(roles: readonly Role[], permission: Permission): boolean {
  return roles.some((r) => ROLE_PERMISSIONS[r].has(permission));
}

const ISVC = '/apis/serving.kserve.io/v1beta1';
const SR = '/apis/serving.kserve.io/v1alpha1';
const INFERD = '/apis/inferd.dev/v1';

/**
 * `METHOD url-pattern` (fastify's route URL, as registered) → permission.
 * HTTP and OpenAI routes; gRPC methods are in GRPC_PERMISSIONS below.
 */
/**
 * Model routes (V2, KServe V1 and TF Serving REST, OpenAI). Each is also served under
 * `/ns/:namespace` (NAMESPACED_ROUTES below): the gate checks that param like any other
 * `:namespace`, so a hidden namespace answers 404.
 */
const MODEL_ROUTES: Readonly<Record<string, Permission>> = {
  // Open Inference Protocol (V2) and KServe V1.
  'GET /v2/models/:name': 'read',
  'GET /v2/models/:name/versions/:version': 'read',
  'GET /v2/models/:name/ready': 'read',
  'GET /v2/models/:name/versions/:version/ready': 'read',
  'POST /v2/models/:name/infer': 'infer',
  'POST /v2/models/:name/versions/:version/infer': 'infer',
  'GET /v1/models/:name': 'read',
  'GET /v1/models/:name/versions/:version': 'read',
  'GET /v1/models/:name/metadata': 'read',
  'GET /v1/models/:name/versions/:version/metadata': 'read',
  'POST /v1/models/:name(^[^:/]+)::predict': 'infer',
  'POST /v1/models/:name/versions/:version(^[^:/]+)::predict': 'infer',
  // OpenAI-compatible API (src/protocols/openai), Authorization: Bearer.
  'GET /v1/models': 'read',
  'GET /openai/v1/models': 'read',
  'GET /openai/v1/models/:name': 'read',
  'POST /v1/chat/completions': 'infer',
  'POST /v1/completions': 'infer',
  'POST /v1/embeddings': 'infer',
  'POST /openai/v1/chat/completions': 'infer',
  'POST /openai/v1/completions': 'infer',
  'POST /openai/v1/embeddings': 'infer',
};

/** The model routes under `/ns/:namespace`, with the same permissions. */
const NAMESPACED_ROUTES: Readonly<Record<string, Permission>> = Object.fromEntries(
  Object.entries(MODEL_ROUTES).map(([route, permission]) => {
    const [method, url] = route.split(' ') as [string, string];
    return [`${method} ${NAMESPACE_PREFIX}${url}`, permission];
  }),
);

/**
 * `METHOD url-pattern` (fastify's route URL, as registered) → permission.
 * HTTP and OpenAI routes; gRPC methods are in GRPC_PERMISSIONS below.
 */
export const ROUTE_PERMISSIONS: Readonly<Record<string, Permission>> = {
  // Probes.
  'GET /': 'public',
  'GET /v2/health/live': 'public',
  'GET /v2/health/ready': 'public',
  'GET /metrics': 'metrics',
  'GET /v2': 'read',
  ...MODEL_ROUTES,
  ...NAMESPACED_ROUTES,
  // Admin API.
  [`GET ${INFERD}/openapi.yaml`]: 'read',
  [`POST ${INFERD}/apply`]: 'deploy',
  [`GET ${ISVC}/inferenceservices`]: 'read',
  [`GET ${ISVC}/namespaces/:namespace/inferenceservices`]: 'read',
  [`POST ${ISVC}/namespaces/:namespace/inferenceservices`]: 'deploy',
  [`GET ${ISVC}/namespaces/:namespace/inferenceservices/:name`]: 'read',
  [`DELETE ${ISVC}/namespaces/:namespace/inferenceservices/:name`]: 'deploy',
  [`GET ${INFERD}/namespaces/:namespace/inferenceservices/:name/revisions`]: 'read',
  [`GET ${INFERD}/namespaces/:namespace/inferenceservices/:name/events`]: 'read',
  [`GET ${INFERD}/namespaces/:namespace/inferenceservices/:name/stats`]: 'read',
  [`POST ${INFERD}/namespaces/:namespace/inferenceservices/:name/rollout/promote`]: 'deploy',
  [`POST ${INFERD}/namespaces/:namespace/inferenceservices/:name/rollout/rollback`]: 'deploy',
  [`GET ${SR}/clusterservingruntimes`]: 'read',
  [`GET ${SR}/servingruntimes`]: 'read',
  [`GET ${SR}/namespaces/:namespace/servingruntimes`]: 'read',
  [`DELETE ${SR}/namespaces/:namespace/servingruntimes/:name`]: 'deploy',
  [`DELETE ${SR}/clusterservingruntimes/:name`]: 'admin',
  [`GET ${INFERD}/memory`]: 'admin',
  // Keys and whoami (src/protocols/http/dashboard-keys.ts).
  [`GET ${INFERD}/keys`]: 'admin',
  [`POST ${INFERD}/keys`]: 'admin',
  [`DELETE ${INFERD}/keys/:id`]: 'admin',
  [`GET ${INFERD}/whoami`]: 'read',
  // Web dashboard (src/protocols/http/ui-routes.ts, dashboard-*.ts). The static files hold no
  // data (the page signs in and sends its credential on every API call), so they are open
  // whatever `security.publicHealth` says.
  'GET /ui': 'static',
  'GET /ui/': 'static',
  'GET /ui/*': 'static',
  [`GET ${INFERD}/server`]: 'admin',
  [`GET ${INFERD}/watch`]: 'read',
  [`GET ${INFERD}/audit`]: 'admin',
  [`GET ${INFERD}/audit/verify`]: 'admin',
};

/** gRPC methods of inference.GRPCInferenceService → permission. */
export const GRPC_PERMISSIONS: Readonly<Record<string, Permission>> = {
  ServerLive: 'public',
  ServerReady: 'public',
  ServerMetadata: 'read',
  ModelReady: 'read',
  ModelMetadata: 'read',
  ModelInfer: 'infer',
};

/** The permission a route needs: its own `config.permission`, else the table, else admin. */
export function routePermission(method: string, url: string | undefined, declared?: unknown): Permission {
  if (typeof declared === 'string' && (PERMISSIONS as readonly string[]).includes(declared)) return declared as Permission;
  if (url === undefined) return 'admin';
  return ROUTE_PERMISSIONS[`${method === 'HEAD' ? 'GET' : method} ${url}`] ?? 'admin';
}
