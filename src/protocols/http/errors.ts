import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ERROR_TABLE, InferdError, publicMessage, quote, toInferdError } from '../../api/errors.js';
import type { Logger } from '../../observability/logger.js';
import { markError } from '../../observability/request-info.js';

/** Fastify's own failures (body too large, bad content length) mapped onto the closed error list. */
function fromFastify(err: FastifyError): InferdError | undefined {
  if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new InferdError('too_large', `request body is larger than the server's limit`);
  if (err.statusCode === 413) return new InferdError('too_large', err.message);
  if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) return new InferdError('invalid_input', err.message);
  return undefined;
}

/**
 * Errors fastify's router answers before any route or hook (Fastify's `frameworkErrors`
 * option): in the one error format, without the default body's echo of the whole path.
 */
export function frameworkError(err: FastifyError, _req: FastifyRequest, reply: FastifyReply): void {
  const e = err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? new InferdError('invalid_input', 'a path segment (model or resource name) is longer than the server accepts')
    : err.code === 'FST_ERR_BAD_URL' ? new InferdError('invalid_input', 'the URL holds an invalid %-escape')
    : new InferdError('invalid_input', 'the request cannot be routed');
  void reply.code(ERROR_TABLE[e.code].http).type('application/json').send(JSON.stringify({ error: e.message }));
}

/** Every HTTP error is `{"error": "..."}` with the status from the one error table. */
export function installErrorHandling(app: FastifyInstance, log: Logger): void {
  app.setErrorHandler((raw, req, reply) => {
    const err = InferdError.is(raw) ? raw : (fromFastify(raw as FastifyError) ?? toInferdError(raw));
    const mapping = ERROR_TABLE[err.code];
    markError(req, err);
    if (err.code === 'internal') log.error({ reqId: req.id, err: raw }, 'internal error');
    if (err.retryAfter !== undefined) void reply.header('retry-after', String(err.retryAfter));
    void reply.code(mapping.http).type('application/json').send(JSON.stringify({ error: publicMessage(err) }));
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).type('application/json').send(JSON.stringify({ error: `no route for ${req.method} ${quote(req.url.split('?')[0])}` }));
  });
}
