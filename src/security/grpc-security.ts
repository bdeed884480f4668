import type * as grpc from '@grpc/grpc-js';
import { ERROR_TABLE, publicMessage, toInferdError } from '../api/errors.js';
import type { ModelRouter } from '../serving/model-router.js';
import { bearerOf } from './http-security.js';
import { allowedOf, setPrincipal } from './principal.js';
import { GRPC_PERMISSIONS } from './roles.js';
import { rateLimited, type Presented, type Security } from './security.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type UnaryHandler = (call: grpc.ServerUnaryCall<any, unknown>, callback: grpc.sendUnaryData<unknown>) => void;

/**
 * Wraps a service implementation's unary handlers: credentials from the
 * `authorization` (or `x-api-key`) metadata, the method's permission from
 * GRPC_PERMISSIONS, the per-key and (ModelInfer) per-model buckets. The principal is
 * attached to the call so handlers pass `allowedOf(call)` to the router.
 */
export function secureGrpc<T extends Record<string, UnaryHandler>>(handlers: T, security: Security, router: ModelRouter): T {
  const out: Record<string, UnaryHandler> = {};
  for (const [method, handler] of Object.entries(handlers)) {
    const permission = GRPC_PERMISSIONS[method] ?? 'admin';
    out[method] = (call, callback) => {
      const fail = (raw: unknown) => {
        const err = toInferdError(raw);
        const metadata = new (call.metadata.constructor as typeof grpc.Metadata)();
        if (err.retryAfter !== undefined) metadata.set('retry-after', String(err.retryAfter));
        callback({ code: ERROR_TABLE[err.code].grpc, details: publicMessage(err), metadata });
      };
      (async () => {
        if (permission === 'public' && security.cfg.publicHealth) return true;
        const md = call.metadata.getMap();
        const headers: Record<string, string | undefined> = {};
        for (const k of ['authorization', 'x-api-key']) if (typeof md[k] === 'string') headers[k] = md[k] as string;
        const token = bearerOf(headers);
        const p: Presented = { ...(token ? { token } : {}), remote: call.getPeer(), what: `grpc ${method}` };
        const principal = await security.authenticate(p);
        setPrincipal(call, principal);
        security.authorize(principal, permission, p);
        const k = await security.takeKey(principal);
        if (k && !k.allowed) throw rateLimited(k, 'this credential');
        if (method === 'ModelInfer') {
          const req = call.request as { model_name?: string };
          const nsMeta = md['inferd-namespace'];
          try {
            const ep = router.resolve(String(req.model_name ?? ''), typeof nsMeta === 'string' && nsMeta !== '' ? nsMeta : undefined, {}, allowedOf(call));
            const m = await security.takeModel(ep.namespace, ep.name);
            if (m && !m.allowed) throw rateLimited(m, `model ${ep.name}`);
          } catch (err) {
            if ((err as { code?: string }).code === 'overloaded') throw err;
          }
          if (security.cfg.audit.inference) security.record({ principal: principal.id, action: 'inference', resource: String(req.model_name ?? '').slice(0, 200), outcome: 'called', details: { protocol: 'grpc' } });
        }
        return true;
      })().then(() => handler(call, callback), fail);
    };
  }
  return out as T;
}
