import { readFile, readdir, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import type { Command } from 'commander';
import { apiRequest, type ClientOptions } from './api-client.js';
import { isvcPath, resourceKind } from './get.js';
import { waitForReady } from './wait.js';

async function manifestTexts(path: string): Promise<string[]> {
  const info = await stat(path);
  if (info.isFile()) return [await readFile(path, 'utf8')];
  const names = (await readdir(path)).filter((n) => ['.yaml', '.yml', '.json'].includes(extname(n).toLowerCase())).sort();
  return Promise.all(names.map((n) => readFile(join(path, n), 'utf8')));
}

export function registerApply(program: Command): void {
  program
    .command('apply')
    .description('create or update resources from YAML/JSON files or directories (all or nothing)')
    .requiredOption('-f, --file <path>', 'manifest file or directory (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--wait', 'wait until the applied InferenceServices are Ready, showing download progress; exit 1 if one fails to load')
    .option('--timeout <seconds>', 'with --wait: give up after this many seconds', '600')
    .option('--server <url>', 'inferd server URL (or INFERD_SERVER)')
    .action(async (opts: ClientOptions & { file: string[]; wait?: boolean; timeout: string }) => {
      const texts = (await Promise.all(opts.file.map(manifestTexts))).flat();
      // One request, so the whole set is applied in one transaction.
      const body = texts.map((t) => t.replace(/^---\s*\n/, '')).join('\n---\n');
      const res = (await apiRequest(opts, 'POST', '/apis/inferd.dev/v1/apply', body)) as { applied: Array<{ kind: string; namespace: string; name: string; action: string }> };
      for (const r of res.applied) console.log(`${r.kind.toLowerCase()}/${r.name} ${r.action} (namespace ${r.namespace})`);
      if (!opts.wait) return;
      const timeout = Number(opts.timeout);
      if (!Number.isFinite(timeout) || timeout <= 0) throw new Error(`--timeout must be a positive number of seconds, got "${opts.timeout}"`);
      const isvcs = res.applied.filter((r) => r.kind === 'InferenceService');
      const failed = await waitForReady(opts, isvcs, timeout * 1000, (l) => console.log(l));
      if (failed.length) process.exitCode = 1;
    });

  program
    .command('delete <type> <name>')
    .description('delete an InferenceService (unloading its models) or a ServingRuntime')
    .option('-n, --namespace <ns>', 'namespace', 'default')
    .option('--server <url>', 'inferd server URL (or INFERD_SERVER)')
    .action(async (type: string, name: string, opts: ClientOptions & { namespace: string }) => {
      const kind = resourceKind(type);
      const path =
        kind === 'isvc'
          ? isvcPath(opts.namespace, name)
          : kind === 'sr'
            ? `/apis/serving.kserve.io/v1alpha1/namespaces/${encodeURIComponent(opts.namespace)}/servingruntimes/${encodeURIComponent(name)}`
            : `/apis/serving.kserve.io/v1alpha1/clusterservingruntimes/${encodeURIComponent(name)}`;
      await apiRequest(opts, 'DELETE', path);
      console.log(`${type} ${name} deleted`);
    });
}
