import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { notFound, quote } from '../../api/errors.js';
import type { ModelEndpoint } from '../../serving/model-endpoint.js';
import type { ModelRouter } from '../../serving/model-router.js';
import { tfModelMetadata, tfModelStatus, type TfServingModel } from '../v1/tf-serving-status.js';
import { decodeV1Request, encodeV1Response } from '../v1/v1-codec.js';
import { parseJson } from './body.js';
import { forwardToProcess } from './proxy.js';
import { holdFor } from './hold.js';
import { REVISION_HEADER, deadlineOf, namespaceOf, namespacedPaths, routingHints } from './routing.js';
import { allowedOf } from '../../security/principal.js';

type Params = { name: string; version?: string };

/** A TensorFlow model's TF Serving view: its signatures and the version directory it serves. */
function tfView(ep: ModelEndpoint): TfServingModel | undefined {
  const d = ep.described;
  return d?.signatures ? { name: ep.name, ready: ep.available, version: d.modelVersion ?? ep.version, signatures: d.signatures } : undefined;
}

/**
 * KServe V1 REST: model status and `:predict`, with TF Serving's REST surface for
 * TensorFlow models (status, `/metadata`, `/versions/N`), as KServe's TensorFlow runtime
 * (TF Serving itself) answers.
 */
export function registerV1Routes(app: FastifyInstance, router: ModelRouter): void {
  /**
   * `/versions/N`: for a TensorFlow model, N is the TF Serving version it serves;
   * otherwise N names a revision, as in V2's versioned paths.
   */
  const resolve = async (req: FastifyRequest<{ Params: Params }>): Promise<ModelEndpoint> => {
    const { name, version } = req.params;
    const first = router.resolve(name, namespaceOf(req), routingHints(req), allowedOf(req));
    if (version === undefined) return first;
    await first.describe(); // a lazy model that never loaded: what it is decides what N means
    const tf = tfView(first);
    if (!tf) return router.resolve(name, namespaceOf(req), routingHints(req, version), allowedOf(req));
    if (!/^\d+$/.test(version) || BigInt(version) !== BigInt(tf.version)) throw notFound(`model ${quote(name)} has no version ${quote(version)}; it serves version ${tf.version}`);
    return first;
  };

  // KServe's model server answers a model that is not ready with 503 (ModelNotReady); TF
  // Serving answers its status document with the version's state.
  const status = async (req: FastifyRequest<{ Params: Params }>, reply: FastifyReply) => {
    const ep = await resolve(req);
    const tf = tfView(ep);
    if (tf) return tfModelStatus(tf);
    if (ep.available) return { name: ep.name, ready: true };
    return reply.code(503).send({ name: ep.name, ready: false, error: `Model with name ${ep.name} is not ready.` });
  };
  for (const p of namespacedPaths('/v1/models/:name')) app.get(p, status);
  for (const p of namespacedPaths('/v1/models/:name/versions/:version')) app.get(p, status);

  const metadata = async (req: FastifyRequest<{ Params: Params }>) => {
    const ep = await resolve(req);
    await ep.describe();
    const tf = tfView(ep);
    return tf ? tfModelMetadata(tf) : ep.metadata();
  };
  for (const p of namespacedPaths('/v1/models/:name/metadata')) app.get(p, metadata);
  for (const p of namespacedPaths('/v1/models/:name/versions/:version/metadata')) app.get(p, metadata);

  const predict = async (req: FastifyRequest<{ Params: Params; Body: Buffer }>, reply: FastifyReply) => {
    const ep = req.params.version === undefined ? router.resolve(req.params.name, namespaceOf(req), routingHints(req), allowedOf(req)) : await resolve(req);
    void reply.header(REVISION_HEADER, ep.revisionName);
    // On standby (scaled to zero, or lazy): load it here, as V2 and every other protocol do.
    const model = ep.loadedModel ?? (await holdFor(ep, reply));
    if (model.proxy) return forwardToProcess(req, reply, () => model.proxy, ep.name);
    const body = parseJson(req.body);
    if (model.predictV1) return ep.predictV1(body);
    const request = decodeV1Request(body, model.inputs);
    const deadline = deadlineOf(req);
    if (deadline !== undefined) request.deadline = deadline;
    const response = await ep.infer(request);
    return encodeV1Response(response.outputs);
  };
  // The regexes stop at ':' so `NAME:predict` splits as KServe's V1 path does.
  for (const p of namespacedPaths('/v1/models/:name(^[^:/]+)::predict')) app.post(p, predict);
  for (const p of namespacedPaths('/v1/models/:name/versions/:version(^[^:/]+)::predict')) app.post(p, predict);
}
