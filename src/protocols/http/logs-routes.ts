import type { FastifyInstance, FastifyRequest } from 'fastify';
import { invalidInput, notFound } from '../../api/errors.js';
import { processLogs } from '../../runtimes/process/registry.js';

type Params = { namespace: string; name: string };
type Query = { tail?: string };

/**
 * `GET /apis/inferd.dev/v1/namespaces/{ns}/inferenceservices/{name}/logs[?tail=N]`: the
 * output of the external processes serving an InferenceService (each with its status:
 * pid, restarts, last exit), or of the last one stopped. Process output can hold
 * anything, so reading it takes the deploy permission.
 */
export function registerLogsRoutes(app: FastifyInstance): void {
  app.get(
    '/apis/inferd.dev/v1/namespaces/:namespace/inferenceservices/:name/logs',
    { config: { permission: 'deploy' } },
    async (req: FastifyRequest<{ Params: Params; Querystring: Query }>) => {
      const { namespace, name } = req.params;
      const raw = req.query.tail;
      const tail = raw === undefined || raw === '' ? undefined : Number(raw);
      if (tail !== undefined && (!Number.isInteger(tail) || tail < 0)) throw invalidInput(`tail must be a non-negative integer, got ${JSON.stringify(raw)}`, 'tail');
      const items = processLogs(namespace, name, tail);
      if (!items.length) throw notFound(`inferenceservice ${namespace}/${name} has no external process: only runtimes that run a container command have logs here (inferd's own log is on its stderr)`);
      return {
        apiVersion: 'v1',
        kind: 'List',
        items: items.map(({ lines, ...status }) => ({ ...status, lines: lines.map((l) => ({ time: new Date(l.time).toISOString(), stream: l.stream, text: l.text })) })),
      };
    },
  );
}
