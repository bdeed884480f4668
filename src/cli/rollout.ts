import type { Command } from 'commander';
import type { IsvcWithStatus } from '../control/control-plane.js';
import { apiRequest, type ClientOptions } from './api-client.js';
import { isvcPath, resourceKind } from './get.js';
import { table } from './table.js';

type Options = ClientOptions & { namespace: string };

export function trafficTable(isvc: IsvcWithStatus): string {
  const p = isvc.status.components.predictor;
  const rows = p.traffic.map((t) => [t.revisionName, `${t.percent}%`, t.tag ?? '', t.latestRevision ? 'yes' : '']);
  return table(['REVISION', 'TRAFFIC', 'TAG', 'LATEST'], rows);
}

function summary(isvc: IsvcWithStatus): string {
  const p = isvc.status.components.predictor;
  const ready = isvc.status.conditions.find((c) => c.type === 'Ready');
  return [
    `InferenceService ${isvc.metadata.namespace}/${isvc.metadata.name}: Ready=${ready?.status ?? 'Unknown'}${ready?.reason ? ` (${ready.reason})` : ''}`,
    `latest created ${p.latestCreatedRevision ?? '-'}, latest ready ${p.latestReadyRevision ?? '-'}, rolled out ${p.latestRolledoutRevision ?? '-'}, previous ${p.previousRolledoutRevision ?? '-'}`,
    `canaryTrafficPercent: ${isvc.spec.predictor.canaryTrafficPercent ?? '(unset: the latest ready revision takes all traffic)'}`,
    trafficTable(isvc),
  ].join('\n');
}

export function registerRollout(program: Command): void {
  const rollout = program.command('rollout').description('watch and steer canary rollouts');
  const action = (verb: 'status' | 'promote' | 'rollback') => async (type: string, name: string, opts: Options) => {
    if (resourceKind(type) !== 'isvc') throw new Error('rollout works on isvc only');
    const ns = encodeURIComponent(opts.namespace);
    const isvc = (verb === 'status'
      ? await apiRequest(opts, 'GET', isvcPath(opts.namespace, name))
      : await apiRequest(opts, 'POST', `/apis/inferd.dev/v1/namespaces/${ns}/inferenceservices/${encodeURIComponent(name)}/rollout/${verb}`)) as IsvcWithStatus;
    console.log(summary(isvc));
  };
  for (const [verb, text] of [
    ['status', 'traffic split and revision readiness'],
    ['promote', 'give the latest ready revision all traffic (drops canaryTrafficPercent)'],
    ['rollback', 'send all traffic back to the previous rolled-out revision'],
  ] as const) {
    rollout
      .command(`${verb} <type> <name>`)
      .description(text)
      .option('-n, --namespace <ns>', 'namespace', 'default')
      .option('--server <url>', 'inferd server URL (or INFERD_SERVER)')
      .action(action(verb));
  }
}
