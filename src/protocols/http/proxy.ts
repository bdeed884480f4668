import type { FastifyReply, FastifyRequest } from 'fastify';
import { InferdError } from '../../api/errors.js';
import { errorCode, requestProcess } from '../../runtimes/process/upstream.js';
import { deadlineOf } from './routing.js';

/** Request headers passed to the model's process; everything else (credentials, cookies) stays here. */
const REQUEST_HEADERS = ['content-type', 'accept', 'inference-header-content-length', 'traceparent', 'tracestate', 'x-request-id'];
/** Response headers passed back; length, encoding and connection are inferd's own. */
const RESPONSE_HEADERS = ['content-type', 'inference-header-content-length', 'retry-after', 'traceparent', 'tracestate'];

/**
 * How long a request waits for a process that refuses connections (dead, restarting)
 * before the answer is 503: a refused connection never delivered the request, so
 * sending it again is safe for any method.
 */
const RESTART_WAIT_MS = 15_000;

/** The process's path for a request: the same path, less `/versions/N` (inferd's revision, unknown to the process). */
export function upstreamPath(url: string): string {
  return url.replace(/^(\/v2\/models\/[^/?]+)\/versions\/[^/?]+/, '$1');
}

/**
 * Forwards a request to a model served by an external process and sends its answer
 * back as it is (status, content type, Inference-Header-Content-Length, body bytes).
 * A process that cannot be reached, or drops the request, is a 503 with Retry-After.
 */
export async function forwardToProcess(
  req: FastifyRequest,
  reply: FastifyReply,
  target: () => { baseUrl: string } | undefined,
  modelName: string,
  /** The process's path when it differs from the request's (e.g. `/openai/v1/...` → `/v1/...`). */
  path: string = upstreamPath(req.url),
): Promise<FastifyReply> {
  const headers: Record<string, string> = {};
  for (const h of REQUEST_HEADERS) {
    const v = req.headers[h];
    if (typeof v === 'string') headers[h] = v;
  }
  const body = req.method !== 'GET' && req.method !== 'HEAD' && Buffer.isBuffer(req.body) ? req.body : undefined;
  const deadline = deadlineOf(req);
  const client = new AbortController();
  // The client went away: stop the work in the process too.
  const onClose = () => {
    if (!reply.raw.writableFinished) client.abort();
  };
  reply.raw.once('close', onClose);
  const signal = deadline === undefined ? client.signal : AbortSignal.any([client.signal, AbortSignal.timeout(Math.max(1, deadline - Date.now()))]);
  let release: (() => void) | undefined;
  const baseUrl = () => {
    const t = target();
    if (!t) throw new InferdError('not_ready', `Model with name ${modelName} is not ready.`, { retryAfter: 1 });
    return t.baseUrl;
  };
  try {
    // A process-backed model counts forwarded requests so that an unload lets them finish.
    release = (target() as { hold?: () => () => void } | undefined)?.hold?.();
    // Server-sent events (OpenAI-style streaming) are passed through as they come; the rest is read whole.
    const streamIf = (res: { headers: Record<string, unknown> }) => String(res.headers['content-type'] ?? '').startsWith('text/event-stream');
    const res = await requestProcess(baseUrl, { method: req.method, path, headers, body, signal, streamIf }, Math.min(Date.now() + RESTART_WAIT_MS, deadline ?? Infinity));
    void reply.code(res.status);
    for (const h of RESPONSE_HEADERS) {
      const v = res.headers[h];
      if (typeof v === 'string') void reply.header(h, v);
    }
    if (res.stream) {
      void reply.header('cache-control', 'no-cache');
      return await reply.send(res.stream);
    }
    return await reply.send(res.body);
  } catch (err) {
    if (InferdError.is(err)) throw err;
    if (client.signal.aborted) throw new InferdError('not_ready', 'the client closed the request');
    if (signal.aborted) throw new InferdError('timeout', `the model server process of ${modelName} did not answer before the deadline`);
    throw new InferdError('not_ready', `the model server process of ${modelName} is not reachable or dropped the request (${errorCode(err)}); it may be restarting`, { retryAfter: 1 });
  } finally {
    reply.raw.off('close', onClose);
    if (release) {
      // A stream is in flight until it has been sent.
      if (reply.raw.writableFinished || reply.raw.destroyed) release();
      else {
        reply.raw.once('finish', release);
        reply.raw.once('close', release);
      }
    }
  }
}
