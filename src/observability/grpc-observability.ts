/**
 * gRPC ModelInfer: counted, timed, logged and traced like the REST inference routes,
 * with the gRPC status code as `code`. Wraps the service's handlers outermost, so
 * calls refused by authentication or rate limits are counted too.
 */
import type * as grpc from '@grpc/grpc-js';
import { UNKNOWN } from './metrics.js';
import type { Observability } from './observability.js';
import { endpointOf, errorClassOf, mayLabelByName, type EndpointRef, type ErrorClass } from './request-info.js';
import { allowedOf } from '../security/principal.js';
import { requestIdOf } from './http-observability.js';

type Unary = (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => void;

/** When the handler did not mark the call (refused before it ran): the class from the status. */
function classOfStatus(code: number, details: string | undefined): ErrorClass {
  if (code === 8 && details?.startsWith('rate limit exceeded')) return 'rate_limited';
  const byCode: Record<number, ErrorClass> = { 3: 'invalid_input', 4: 'timeout', 5: 'not_found', 7: 'forbidden', 8: 'overloaded', 10: 'conflict', 13: 'internal', 14: 'not_ready', 16: 'unauthenticated' };
  return byCode[code] ?? 'internal';
}

export function observeGrpc<T extends Record<string, unknown>>(handlers: T, obs: Observability): T {
  const infer = handlers.ModelInfer as Unary | undefined;
  if (!infer) return handlers;
  const { metrics, tracing } = obs;
  const wrapped: Unary = (call, callback) => {
    const started = performance.now();
    const md = call.metadata.getMap();
    const reqId = requestIdOf({ headers: { 'x-request-id': typeof md['x-request-id'] === 'string' ? md['x-request-id'] : undefined } });
    const t = tracing?.start('ModelInfer', md, { 'rpc.system': 'grpc', 'rpc.method': 'ModelInfer', 'inferd.request_id': reqId });
    const finish: grpc.sendUnaryData<unknown> = (err, res) => {
      const seconds = (performance.now() - started) / 1000;
      const code = err ? (err.code ?? 2) : 0;
      const cls = err ? (errorClassOf(call) ?? classOfStatus(code, err.details)) : undefined;
      let ref: EndpointRef | undefined = endpointOf(call);
      if (!ref && mayLabelByName(cls)) {
        const name = (call.request as { model_name?: unknown }).model_name;
        const ns = md['inferd-namespace'];
        if (typeof name === 'string') ref = metrics.endpointByName(name, typeof ns === 'string' && ns !== '' ? ns : undefined, allowedOf(call));
      }
      if (metrics.enabled) metrics.seriesFor(ref, 'grpc').done(code, seconds, cls);
      if (t) tracing!.end(t, code === 0 ? 200 : 500, { 'rpc.grpc.status_code': code, 'inferd.namespace': ref?.namespace ?? UNKNOWN, 'inferd.model': ref?.name ?? UNKNOWN, 'inferd.revision': ref?.revisionName ?? UNKNOWN }, cls);
      const status = code === 0 ? 200 : httpOf(cls);
      if (obs.wantsRequestLog(status)) obs.logRequest({
        reqId, protocol: 'grpc', namespace: ref?.namespace ?? UNKNOWN, model: ref?.name ?? UNKNOWN, revision: ref?.revisionName ?? UNKNOWN,
        // The request log speaks HTTP status terms: gRPC OK is 200, failures by their error class's HTTP status.
        status, ms: Math.round(seconds * 1e6) / 1000, grpcCode: code,
        ...(cls ? { errorClass: cls } : {}),
        ...(t ? { traceId: t.span.spanContext().traceId } : {}),
      });
      callback(err, res);
    };
    if (t) tracing!.als.run(t, () => infer(call, finish));
    else infer(call, finish);
  };
  return { ...handlers, ModelInfer: wrapped };
}

function httpOf(cls: ErrorClass | undefined): number {
  const table: Record<string, number> = { invalid_input: 400, unauthenticated: 401, forbidden: 403, not_found: 404, conflict: 409, too_large: 413, overloaded: 429, rate_limited: 429, not_ready: 503, timeout: 504, internal: 500 };
  return cls === undefined ? 500 : (table[cls] ?? 500);
}
