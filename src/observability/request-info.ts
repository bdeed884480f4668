/**
 * What the one error handler and the routes leave on a request for the observability
 * hooks (metrics, request log, payload logger, tracing) to read at the end.
 */
import type { InferdError } from '../api/errors.js';

const ERROR_CLASS = Symbol.for('inferd.errorClass');
const ENDPOINT = Symbol.for('inferd.endpoint');

/** An error class: the InferdError code, or `rate_limited` for 429s from the rate limiter. */
export type ErrorClass = InferdError['code'] | 'rate_limited';

export interface EndpointRef {
  readonly namespace: string;
  readonly name: string;
  readonly revisionName: string;
}

type Tagged = { [ERROR_CLASS]?: ErrorClass; [ENDPOINT]?: EndpointRef };

/** Called by the error handler: the class of the error this request is answered with. */
export function markError(req: object, err: InferdError): void {
  (req as Tagged)[ERROR_CLASS] = err.code === 'overloaded' && err.message.startsWith('rate limit exceeded') ? 'rate_limited' : err.code;
}

export function errorClassOf(req: object): ErrorClass | undefined {
  return (req as Tagged)[ERROR_CLASS];
}

/** Refusals whose model name is only the client's word: never a metric label, log field or trace attribute. */
const UNTRUSTED_NAME: ReadonlySet<ErrorClass | undefined> = new Set(['unauthenticated', 'forbidden', 'not_found']);

/** Whether a request that no endpoint marked may be labelled by the model name it asked for. */
export function mayLabelByName(cls: ErrorClass | undefined): boolean {
  return cls !== undefined && !UNTRUSTED_NAME.has(cls);
}

/**
 * Names the endpoint that served a request, for routes whose response does not carry the
 * `inferd-revision` header through Fastify (hijacked SSE streams). Label values then come
 * from the endpoint, never from the request.
 */
export function markEndpoint(req: object, ep: EndpointRef): void {
  (req as Tagged)[ENDPOINT] = ep;
}

export function endpointOf(req: object): EndpointRef | undefined {
  return (req as Tagged)[ENDPOINT];
}
