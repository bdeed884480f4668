import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ModelRouter } from '../../serving/model-router.js';
import { decodeV1Request, encodeV1Response } from '../v1/v1-codec.js';
import { parseJson } from './body.js';
import { forwardToProcess } from './proxy.js';
import { REVISION_HEADER, deadlineOf, namespaceOf, routingHints } from './routing.js';
import { allowedOf } from '../../security/principal.js';

type Params = { name: string };

/** KServe V1 REST: model status, model list and `:predict`. */
export function registerV1Routes(app: FastifyInstance, router: ModelRouter): void {
  app.get('/v1/models/:name', async (req: FastifyRequest<{ Params: Params }>) => {
    const ep = router.resolve(req.params.name, namespaceOf(req), {}, allowedOf(req));
    return { name: ep.name, ready: ep.ready };
  });

  // The regex stops the name at ':' so `NAME:predict` splits as KServe's V1 path does.
  app.post('/v1/models/:name(^[^:/]+)::predict', async (req: FastifyRequest<{ Params: Params; Body: Buffer }>, reply: FastifyReply) => {
    const ep = router.resolve(req.params.name, namespaceOf(req), routingHints(req), allowedOf(req));
    void reply.header(REVISION_HEADER, ep.revisionName);
    if (ep.ready && ep.proxy) return forwardToProcess(req, reply, () => ep.proxy, ep.name);
    const body = parseJson(req.body);
    if (ep.hasOwnV1) return ep.predictV1(body);
    const request = decodeV1Request(body, ep.signature.inputs);
    const deadline = deadlineOf(req);
    if (deadline !== undefined) request.deadline = deadline;
    const response = await ep.infer(request);
    return encodeV1Response(response.outputs);
  });
}
