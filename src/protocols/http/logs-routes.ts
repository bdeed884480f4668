import type { FastifyInstance, FastifyRequest } from 'fastify';
import { invalidInput, notFound, quote } from '../../api/errors.js';
import { modelLog } from '../../observability/model-log.js';
import { processLogs } from '../../runtimes/process/registry.js';

type Params = { namespace: string; name: string };
type Query = { tail?: string };

/**
 * `GET /apis/inferd.dev/v1/namespaces/{ns}/inferenceservices/{name}/logs[?tail=N]`: the
 * output of the external processes serving an InferenceService (each with its status:
 * pid, restarts, last exit), or of the last one stopped; for a model served in-process,
 * inferd's own recent log lines about it (state `InProcess`, stream `inferd`). Process
 * output can hold anything, so reading it takes the deploy permission.
 */
export function registerLogsRoutes(app: FastifyInstance): void {
  app.get(
    '/apis/inferd.dev/v1/namespaces/:namespace/inferenceservices/:name/logs',
    { config: { permission: 'deploy' } },
    async (req: FastifyRequest<{ Params: Params; Querystring: Query }>) => {
      const { namespace, name } = req.params;
      const raw = req.query.tail;
      const tail = raw === undefined || raw === '' ? undefined : Number(raw);
      if (tail !== undefined && (!Number.isInteger(tail) || tail < 0)) throw invalidInput(`tail must be a non-negative integer, got ${quote(JSON.stringify(raw))}`, 'tail');
      const items = processLogs(namespace, name, tail);
      const time = (ms: number) => new Date(ms).toISOString();
      if (items.length) {
        return { apiVersion: 'v1', kind: 'List', items: items.map(({ lines, ...status }) => ({ ...status, lines: lines.map((l) => ({ time: time(l.time), stream: l.stream, text: l.text })) })) };
      }
      const own = modelLog(namespace, name, tail);
      if (!own.length) throw notFound(`inferenceservice ${quote(namespace)}/${quote(name)} has no logs: no external process and no log line about it yet`);
      const lines = own.map((l) => ({ time: time(l.time), stream: 'inferd', level: l.level, text: `${l.revision !== undefined ? `[revision ${l.revision}] ` : ''}${l.text}` }));
      return { apiVersion: 'v1', kind: 'List', items: [{ state: 'InProcess', command: 'inferd', restarts: 0, live: true, lines }] };
    },
  );
}
