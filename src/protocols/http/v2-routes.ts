import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ModelRouter } from '../../serving/model-router.js';
import { decodeInferRequest, encodeInferResponse, type Limits } from '../v2/rest-codec.js';
import { HEADER_LENGTH, splitBinaryBody } from './body.js';
import { forwardToProcess } from './proxy.js';
import { holdFor } from './hold.js';
import { SERVER_NAME, SERVER_VERSION } from '../../version.js';
import { REVISION_HEADER, deadlineOf, namespaceOf, namespacedPaths, routingHints } from './routing.js';
import { allowedOf } from '../../security/principal.js';

type ModelParams = { name: string; version?: string };

export const V2_EXTENSIONS = ['binary_tensor_data'];

/** Open Inference Protocol (V2) REST routes. */
export function registerV2Routes(app: FastifyInstance, router: ModelRouter, limits: Limits): void {
  const resolve = (req: FastifyRequest<{ Params: ModelParams }>) => router.resolve(req.params.name, namespaceOf(req), routingHints(req, req.params.version), allowedOf(req));

  app.get('/v2', async () => ({ name: SERVER_NAME, version: SERVER_VERSION, extensions: V2_EXTENSIONS }));
  app.get('/v2/health/live', async () => ({ live: true }));
  app.get('/v2/health/ready', async (_req, reply) => {
    const ready = router.serverReady();
    return reply.code(ready ? 200 : 503).send({ ready });
  });

  // Metadata needs the model (or its process): an on-demand model loads, as ModelMesh does.
  const metadata = async (req: FastifyRequest<{ Params: ModelParams }>, reply: FastifyReply) => {
    const ep = resolve(req);
    const model = await holdFor(ep, reply);
    return model.proxy ? forwardToProcess(req, reply, () => model.proxy, ep.name) : ep.metadata();
  };
  for (const p of namespacedPaths('/v2/models/:name')) app.get(p, metadata);
  for (const p of namespacedPaths('/v2/models/:name/versions/:version')) app.get(p, metadata);

  const ready = async (req: FastifyRequest<{ Params: ModelParams }>, reply: FastifyReply) => {
    const ep = resolve(req);
    return reply.code(ep.available ? 200 : 503).send({ name: ep.name, ready: ep.available });
  };
  for (const p of namespacedPaths('/v2/models/:name/ready')) app.get(p, ready);
  for (const p of namespacedPaths('/v2/models/:name/versions/:version/ready')) app.get(p, ready);

  const infer = async (req: FastifyRequest<{ Params: ModelParams; Body: Buffer }>, reply: FastifyReply) => {
    const ep = resolve(req);
    void reply.header(REVISION_HEADER, ep.revisionName);
    // Not loaded (on standby): load it here to learn whether a process serves it; `infer` itself acquires too.
    const model = ep.loadedModel ?? (await holdFor(ep, reply));
    if (model.proxy) return forwardToProcess(req, reply, () => model.proxy, ep.name);
    const header = req.headers[HEADER_LENGTH];
    const { json, binary } = splitBinaryBody(req.body, typeof header === 'string' ? header : undefined);
    const request = decodeInferRequest(json, binary, limits);
    const deadline = deadlineOf(req);
    if (deadline !== undefined) request.deadline = deadline;
    const response = await ep.infer(request);
    const encoded = encodeInferResponse(response, request);
    if (!encoded.binary) return reply.type('application/json').send(encoded.json);
    const head = Buffer.from(encoded.json);
    void reply.header('Inference-Header-Content-Length', String(head.length));
    return reply.type('application/octet-stream').send(Buffer.concat([head, ...encoded.binary]));
  };
  for (const p of namespacedPaths('/v2/models/:name/infer')) app.post(p, infer);
  for (const p of namespacedPaths('/v2/models/:name/versions/:version/infer')) app.post(p, infer);
}
