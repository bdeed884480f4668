import type { FastifyReply } from 'fastify';
import type { LoadedModel } from '../../runtimes/types.js';
import type { ModelEndpoint } from '../../serving/model-endpoint.js';

/**
 * The endpoint's model for one HTTP exchange, through `acquire()` (an on-demand model loads
 * here, with the wait and 429 every protocol shares), held in flight until the response is
 * sent or the client has gone: streams and forwarded answers outlive the handler.
 */
export async function holdFor(ep: ModelEndpoint, reply: FastifyReply): Promise<LoadedModel> {
  const lease = await ep.acquire();
  if (reply.raw.closed) lease.release();
  else reply.raw.once('close', lease.release);
  return lease.model;
}
