import type { Command } from 'commander';
import { stringify } from 'yaml';
import type { InferenceServiceStatus } from '../control/isvc-status.js';
import { apiRequest, type ClientOptions } from './api-client.js';
import { table } from './table.js';

interface GetOptions extends ClientOptions {
  namespace?: string;
  allNamespaces?: boolean;
  output?: string;
}

type Item = { kind?: string; metadata: { name: string; namespace?: string }; spec: Record<string, unknown>; status?: InferenceServiceStatus };

const KINDS: Record<string, 'isvc' | 'sr' | 'csr'> = {
  isvc: 'isvc', inferenceservice: 'isvc', inferenceservices: 'isvc',
  servingruntime: 'sr', servingruntimes: 'sr', sr: 'sr',
  clusterservingruntime: 'csr', clusterservingruntimes: 'csr', csr: 'csr',
};

export function resourceKind(kind: string): 'isvc' | 'sr' | 'csr' {
  const k = KINDS[kind.toLowerCase()];
  if (!k) throw new Error(`unknown resource type "${kind}" (use isvc, servingruntimes or clusterservingruntimes)`);
  return k;
}

export function isvcPath(ns: string | undefined, name?: string): string {
  const base = '/apis/serving.kserve.io/v1beta1';
  if (!ns) return `${base}/inferenceservices`;
  return `${base}/namespaces/${encodeURIComponent(ns)}/inferenceservices${name ? `/${encodeURIComponent(name)}` : ''}`;
}

function condition(item: Item, type: string): string {
  return item.status?.conditions.find((c) => c.type === type)?.status ?? 'Unknown';
}

export function registerGet(program: Command): void {
  program
    .command('get <type> [name]')
    .description('list InferenceServices (isvc), ServingRuntimes or ClusterServingRuntimes')
    .option('-n, --namespace <ns>', 'namespace', 'default')
    .option('-A, --all-namespaces', 'all namespaces')
    .option('-o, --output <format>', 'table, yaml or json', 'table')
    .option('--server <url>', 'inferd server URL (or INFERD_SERVER)')
    .action(async (type: string, name: string | undefined, opts: GetOptions) => {
      const kind = resourceKind(type);
      const ns = opts.allNamespaces ? undefined : opts.namespace;
      let items: Item[];
      if (kind === 'isvc') {
        items = name
          ? [(await apiRequest(opts, 'GET', isvcPath(ns ?? 'default', name))) as Item]
          : ((await apiRequest(opts, 'GET', isvcPath(ns))) as { items: Item[] }).items;
      } else {
        const path = kind === 'csr' ? '/apis/serving.kserve.io/v1alpha1/clusterservingruntimes' : ns ? `/apis/serving.kserve.io/v1alpha1/namespaces/${ns}/servingruntimes` : '/apis/serving.kserve.io/v1alpha1/servingruntimes';
        items = ((await apiRequest(opts, 'GET', path)) as { items: Item[] }).items.filter((i) => !name || i.metadata.name === name);
        if (name && items.length === 0) throw new Error(`404: ${type} "${name}" not found`);
      }
      if (opts.output === 'json') return void console.log(JSON.stringify(name ? items[0] : { items }, null, 2));
      if (opts.output === 'yaml') return void console.log(stringify(name ? items[0] : { items }).trimEnd());
      if (opts.output !== 'table') throw new Error(`--output must be table, yaml or json`);
      if (kind === 'isvc') {
        console.log(table(['NAMESPACE', 'NAME', 'READY', 'STATE', 'REVISION', 'RUNTIME', 'URL'], items.map((i) => [
          i.metadata.namespace ?? 'default', i.metadata.name, condition(i, 'Ready'), i.status?.modelStatus.states.targetModelState ?? '',
          i.status?.components.predictor.latestReadyRevision ?? '', i.status?.servingRuntimeName ?? i.status?.clusterServingRuntimeName ?? '', i.status?.url ?? '',
        ])));
      } else {
        console.log(table(['NAME', 'KIND', 'FORMATS', 'DISABLED'], items.map((i) => [
          i.metadata.name, i.kind ?? '',
          ((i.spec.supportedModelFormats as Array<{ name: string; version?: string }> | undefined) ?? []).map((f) => (f.version ? `${f.name}:${f.version}` : f.name)).join(','),
          String(i.spec.disabled ?? false),
        ])));
      }
    });
}
