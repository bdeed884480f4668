import type { FastifyInstance, FastifyRequest } from 'fastify';
import { invalidInput } from '../../api/errors.js';
import { parseManifest } from '../../api/resources/manifest.js';
import type { Reconciler } from '../../control/reconciler.js';

const ISVC = '/apis/serving.kserve.io/v1beta1';
const SR = '/apis/serving.kserve.io/v1alpha1';

type Ns = { namespace: string };
type Named = Ns & { name: string };

/**
 * The admin API, on Kubernetes-style paths so resources read the same as in a
 * cluster. `POST /apis/inferd.dev/v1/apply` takes YAML or JSON with one or many documents.
 */
export function registerAdminRoutes(app: FastifyInstance, reconciler: Reconciler, baseDir: string): void {
  const list = (namespace?: string) => ({ apiVersion: 'v1', kind: 'List', items: reconciler.listIsvcs(namespace) });
  app.get(`${ISVC}/inferenceservices`, async () => list());
  app.get(`${ISVC}/namespaces/:namespace/inferenceservices`, async (req: FastifyRequest<{ Params: Ns }>) => list(req.params.namespace));
  app.get(`${ISVC}/namespaces/:namespace/inferenceservices/:name`, async (req: FastifyRequest<{ Params: Named }>) =>
    reconciler.getIsvc(req.params.namespace, req.params.name));
  app.delete(`${ISVC}/namespaces/:namespace/inferenceservices/:name`, async (req: FastifyRequest<{ Params: Named }>) => {
    await reconciler.delete('InferenceService', req.params.namespace, req.params.name);
    return { kind: 'Status', status: 'Success', details: { name: req.params.name, kind: 'inferenceservices' } };
  });

  const runtimes = (kind: string, namespace?: string) => ({
    apiVersion: 'v1',
    kind: 'List',
    items: reconciler.listRuntimes(namespace).filter((r) => r.kind === kind),
  });
  app.get(`${SR}/clusterservingruntimes`, async () => runtimes('ClusterServingRuntime'));
  app.get(`${SR}/servingruntimes`, async () => runtimes('ServingRuntime'));
  app.get(`${SR}/namespaces/:namespace/servingruntimes`, async (req: FastifyRequest<{ Params: Ns }>) => runtimes('ServingRuntime', req.params.namespace));

  app.post('/apis/inferd.dev/v1/apply', async (req: FastifyRequest<{ Body: Buffer }>) => {
    if (!req.body || req.body.length === 0) throw invalidInput('request body is empty; expected YAML or JSON resources', 'body');
    const resources = parseManifest(req.body.toString('utf8'));
    if (resources.length === 0) throw invalidInput('no resources in the request body', 'body');
    return { applied: reconciler.apply(resources, baseDir) };
  });
}
