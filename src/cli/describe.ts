import type { Command } from 'commander';
import type { InferenceServiceStatus } from '../control/isvc-status.js';
import { apiRequest, type ClientOptions } from './api-client.js';
import { isvcPath, resourceKind } from './get.js';
import { table } from './table.js';

interface DescribeOptions extends ClientOptions {
  namespace: string;
}

type Isvc = { metadata: { name: string; namespace?: string; generation?: number }; spec: { predictor: { model?: { modelFormat: { name: string; version?: string }; storageUri?: string; runtime?: string } } }; status: InferenceServiceStatus };

export function registerDescribe(program: Command): void {
  program
    .command('describe <type> <name>')
    .description('show an InferenceService: model, runtime, conditions, revisions and failures')
    .option('-n, --namespace <ns>', 'namespace', 'default')
    .option('--server <url>', 'inferd server URL (or INFERD_SERVER)')
    .action(async (type: string, name: string, opts: DescribeOptions) => {
      if (resourceKind(type) !== 'isvc') throw new Error('describe supports isvc only; use "get -o yaml" for runtimes');
      const isvc = (await apiRequest(opts, 'GET', isvcPath(opts.namespace, name))) as Isvc;
      const s = isvc.status;
      const model = isvc.spec.predictor.model;
      const lines = [
        `Name:         ${isvc.metadata.name}`,
        `Namespace:    ${isvc.metadata.namespace ?? 'default'}`,
        `Generation:   ${isvc.metadata.generation ?? ''}`,
        `URL:          ${s.url ?? ''}`,
        `Model format: ${model ? model.modelFormat.name + (model.modelFormat.version ? `:${model.modelFormat.version}` : '') : ''}`,
        `Storage URI:  ${model?.storageUri ?? ''}`,
        `Runtime:      ${s.servingRuntimeName ?? s.clusterServingRuntimeName ?? '(none selected)'}`,
        `Revisions:    latest created ${s.components.predictor.latestCreatedRevision}, latest ready ${s.components.predictor.latestReadyRevision ?? '(none)'}`,
        `Model state:  ${s.modelStatus.states.targetModelState} (active: ${s.modelStatus.states.activeModelState || 'none'}, ${s.modelStatus.transitionStatus})`,
      ];
      if (s.modelStatus.lastFailureInfo) {
        const f = s.modelStatus.lastFailureInfo;
        lines.push(`Last failure: ${f.reason} at ${f.time}`, `  ${f.message}`);
      }
      lines.push('Conditions:');
      lines.push(table(['  TYPE', 'STATUS', 'REASON', 'MESSAGE', 'SINCE'], s.conditions.map((c) => [`  ${c.type}`, c.status, c.reason ?? '', c.message ?? '', c.lastTransitionTime])));
      console.log(lines.join('\n'));
    });
}
