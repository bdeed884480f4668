import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ModelRouter } from '../../serving/model-router.js';
import { decodeV1Request, encodeV1Response } from '../v1/v1-codec.js';
import { parseJson } from './body.js';
import { namespaceOf } from './v2-routes.js';

type Params = { name: string };

/** KServe V1 REST: model status, model list and `:predict`. */
export function registerV1Routes(app: FastifyInstance, router: ModelRouter): void {
  app.get('/v1/models/:name', async (req: FastifyRequest<{ Params: Params }>) => {
    const ep = router.resolve(req.params.name, namespaceOf(req));
    return { name: ep.name, ready: ep.ready };
  });

  // The regex stops the name at ':' so `NAME:predict` splits as KServe's V1 path does.
  app.post('/v1/models/:name(^[^:/]+)::predict', async (req: FastifyRequest<{ Params: Params; Body: Buffer }>) => {
    const ep = router.resolve(req.params.name, namespaceOf(req));
    const model = ep.loaded;
    const body = parseJson(req.body);
    if (model.predictV1) return model.predictV1(body);
    const request = decodeV1Request(body, model.inputs);
    const response = await ep.infer(request);
    return encodeV1Response(response.outputs);
  });
}
