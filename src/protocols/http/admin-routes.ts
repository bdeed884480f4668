import type { FastifyInstance, FastifyRequest } from 'fastify';
import { invalidInput } from '../../api/errors.js';
import { parseManifest } from '../../api/resources/manifest.js';
import type { ControlPlane } from '../../control/control-plane.js';
import { OPENAPI_YAML } from './openapi.js';
import { assertCanApply, trustOf, visibleTo } from '../../security/http-security.js';
import { principalOf } from '../../security/principal.js';
import { redactSecretEnv, seesSecrets } from '../../security/secret-env.js';

const ISVC = '/apis/serving.kserve.io/v1beta1';
const SR = '/apis/serving.kserve.io/v1alpha1';
const INFERD = '/apis/inferd.dev/v1';

type Ns = { namespace: string };
type Named = Ns & { name: string };
type Body = { Body: Buffer };

/**
 * The admin API, on Kubernetes-style paths so resources read the same as in a
 * cluster. `POST /apis/inferd.dev/v1/apply` takes YAML or JSON with one or many
 * documents; documented in the OpenAPI file served at /apis/inferd.dev/v1/openapi.yaml.
 */
export function registerAdminRoutes(app: FastifyInstance, control: ControlPlane, baseDir: string): void {
  const list = (items: unknown[]) => ({ apiVersion: 'v1', kind: 'List', items });
  /** A resource as this caller may read it: secret-looking env values only for those who could write them. */
  const shown = (req: FastifyRequest, cluster = false) => {
    const p = principalOf(req);
    return <T extends { metadata: { namespace?: string | undefined } }>(r: T): T => (seesSecrets(p, cluster ? undefined : (r.metadata.namespace ?? 'default')) ? r : redactSecretEnv(r));
  };
  const body = (req: FastifyRequest<Body>) => {
    if (!req.body || req.body.length === 0) throw invalidInput('request body is empty; expected YAML or JSON resources', 'body');
    const resources = parseManifest(req.body.toString('utf8'));
    if (resources.length === 0) throw invalidInput('no resources in the request body', 'body');
    assertCanApply(req, resources);
    return resources;
  };

  app.get(`${INFERD}/openapi.yaml`, async (_req, reply) => reply.type('application/yaml').send(OPENAPI_YAML));
  app.post(`${INFERD}/apply`, async (req: FastifyRequest<Body>) => ({ applied: control.apply(body(req), { baseDir, trust: trustOf(req) }) }));

  app.get(`${ISVC}/inferenceservices`, async (req) => list(control.listIsvcs().filter(visibleTo(req)).map(shown(req))));
  app.get(`${ISVC}/namespaces/:namespace/inferenceservices`, async (req: FastifyRequest<{ Params: Ns }>) => list(control.listIsvcs(req.params.namespace).map(shown(req))));
  app.post(`${ISVC}/namespaces/:namespace/inferenceservices`, async (req: FastifyRequest<{ Params: Ns } & Body>, reply) => {
    const items = body(req).filter((i) => i.resource.kind === 'InferenceService');
    for (const i of items) i.resource.metadata.namespace ??= req.params.namespace;
    return reply.code(201).send({ applied: control.apply(items, { baseDir, createOnly: true, trust: trustOf(req) }) });
  });
  app.get(`${ISVC}/namespaces/:namespace/inferenceservices/:name`, async (req: FastifyRequest<{ Params: Named }>) => shown(req)(control.getIsvc(req.params.namespace, req.params.name)));
  app.delete(`${ISVC}/namespaces/:namespace/inferenceservices/:name`, async (req: FastifyRequest<{ Params: Named }>) => {
    control.delete('InferenceService', req.params.namespace, req.params.name);
    return { kind: 'Status', status: 'Success', details: { name: req.params.name, kind: 'inferenceservices' } };
  });
  app.get(`${INFERD}/namespaces/:namespace/inferenceservices/:name/revisions`, async (req: FastifyRequest<{ Params: Named }>) => list(control.revisions(req.params.namespace, req.params.name)));
  app.get(`${INFERD}/namespaces/:namespace/inferenceservices/:name/events`, async (req: FastifyRequest<{ Params: Named }>) => list(control.events(req.params.namespace, req.params.name)));
  app.get(`${INFERD}/namespaces/:namespace/inferenceservices/:name/stats`, async (req: FastifyRequest<{ Params: Named }>) => list(control.stats(req.params.namespace, req.params.name)));
  app.post(`${INFERD}/namespaces/:namespace/inferenceservices/:name/rollout/promote`, async (req: FastifyRequest<{ Params: Named }>) => control.promote(req.params.namespace, req.params.name));
  app.post(`${INFERD}/namespaces/:namespace/inferenceservices/:name/rollout/rollback`, async (req: FastifyRequest<{ Params: Named }>) => control.rollback(req.params.namespace, req.params.name));

  app.get(`${SR}/clusterservingruntimes`, async (req) => list(control.listRuntimes('ClusterServingRuntime').map(shown(req, true))));
  app.get(`${SR}/servingruntimes`, async (req) => list(control.listRuntimes('ServingRuntime').filter(visibleTo(req)).map(shown(req))));
  app.get(`${SR}/namespaces/:namespace/servingruntimes`, async (req: FastifyRequest<{ Params: Ns }>) => list(control.listRuntimes('ServingRuntime', req.params.namespace).map(shown(req))));
  app.delete(`${SR}/namespaces/:namespace/servingruntimes/:name`, async (req: FastifyRequest<{ Params: Named }>) => {
    control.delete('ServingRuntime', req.params.namespace, req.params.name);
    return { kind: 'Status', status: 'Success' };
  });
  app.delete(`${SR}/clusterservingruntimes/:name`, async (req: FastifyRequest<{ Params: { name: string } }>) => {
    control.delete('ClusterServingRuntime', 'default', req.params.name);
    return { kind: 'Status', status: 'Success' };
  });
}
