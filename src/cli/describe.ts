import type { Command } from 'commander';
import type { IsvcWithStatus, RevisionView } from '../control/control-plane.js';
import type { StoredEvent } from '../control/store.js';
import { apiRequest, type ClientOptions } from './api-client.js';
import { isvcPath, resourceKind } from './get.js';
import { formatProgress } from './progress.js';
import { trafficTable } from './rollout.js';
import { table } from './table.js';

interface DescribeOptions extends ClientOptions {
  namespace: string;
}

export function registerDescribe(program: Command): void {
  program
    .command('describe <type> <name>')
    .description('show an InferenceService: model, runtime, conditions, revisions, traffic and events')
    .option('-n, --namespace <ns>', 'namespace', 'default')
    .option('--server <url>', 'inferd server URL (or INFERD_SERVER)')
    .action(async (type: string, name: string, opts: DescribeOptions) => {
      if (resourceKind(type) !== 'isvc') throw new Error('describe supports isvc only; use "get -o yaml" for runtimes');
      const ns = encodeURIComponent(opts.namespace);
      const extra = `/apis/inferd.dev/v1/namespaces/${ns}/inferenceservices/${encodeURIComponent(name)}`;
      const isvc = (await apiRequest(opts, 'GET', isvcPath(opts.namespace, name))) as IsvcWithStatus;
      const revisions = ((await apiRequest(opts, 'GET', `${extra}/revisions`)) as { items: RevisionView[] }).items;
      const events = ((await apiRequest(opts, 'GET', `${extra}/events`)) as { items: StoredEvent[] }).items;
      const s = isvc.status;
      const model = isvc.spec.predictor.model;
      const lines = [
        `Name:            ${isvc.metadata.name}`,
        `Namespace:       ${isvc.metadata.namespace ?? 'default'}`,
        `Generation:      ${isvc.metadata.generation ?? ''} (resourceVersion ${isvc.metadata.resourceVersion ?? ''})`,
        `URL:             ${s.url ?? ''}`,
        `Host URL:        ${s.address?.url ?? ''}`,
        `Model format:    ${model ? model.modelFormat.name + (model.modelFormat.version ? `:${model.modelFormat.version}` : '') : ''}`,
        `Storage URI:     ${model?.storageUri ?? ''}`,
        `Runtime:         ${s.servingRuntimeName ?? s.clusterServingRuntimeName ?? '(none selected)'}`,
        `Model state:     ${s.modelStatus.states.targetModelState} (active: ${s.modelStatus.states.activeModelState || 'none'}, ${s.modelStatus.transitionStatus})`,
      ];
      if (s.modelStatus.download) lines.push(`Download:        ${s.modelStatus.download.uri}: ${formatProgress(s.modelStatus.download)}`);
      if (s.modelStatus.lastFailureInfo) {
        const f = s.modelStatus.lastFailureInfo;
        lines.push(`Last failure:    ${f.reason} at ${f.time}`, `  ${f.message}`);
      }
      lines.push('Conditions:', indent(table(['TYPE', 'STATUS', 'REASON', 'MESSAGE', 'SINCE'], s.conditions.map((c) => [c.type, c.status, c.reason ?? '', c.message ?? '', c.lastTransitionTime]))));
      lines.push('Traffic:', indent(trafficTable(isvc)));
      if (s.processes?.length) {
        const rows = s.processes.map((p) => [String(p.pid ?? '-'), p.state, String(p.restarts), p.lastExit ? `${p.lastExit.signal ?? `code ${p.lastExit.code}`} at ${p.lastExit.time}` : '', p.command]);
        lines.push('Processes:', indent(table(['PID', 'STATE', 'RESTARTS', 'LAST EXIT', 'COMMAND'], rows)));
      }
      lines.push('Revisions:', indent(table(['NAME', 'OUTCOME', 'CREATED', 'MESSAGE'], revisions.map((r) => [r.name, r.outcome, r.createdAt, r.message ?? '']))));
      lines.push('Events:', indent(table(['TIME', 'TYPE', 'REASON', 'MESSAGE'], events.map((e) => [e.time, e.type, e.reason, e.message]))));
      console.log(lines.join('\n'));
    });
}

function indent(text: string): string {
  return text.split('\n').map((l) => `  ${l}`).join('\n');
}
