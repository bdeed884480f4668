import type { Command } from 'commander';
import type { ApiKeyInfo } from '../security/key-store.js';
import { apiRequest, type ClientOptions } from './api-client.js';
import { table } from './table.js';

const KEYS = '/apis/inferd.dev/v1/keys';

/** `inferd keys create|list|revoke`: API keys through the admin API (admin role). */
export function registerKeys(program: Command): void {
  const keys = program.command('keys').description('manage API keys (admin)');
  keys
    .command('create')
    .description('create an API key; it is printed once and only its hash is stored')
    .requiredOption('--role <role>', 'viewer | predictor | deployer | admin | metrics (a /metrics scrape key)')
    .option('-n, --namespace <ns>', 'namespace the key may use (repeatable; * for all)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--expires <when>', 'expiry: a duration (90m, 12h, 30d, 2w) or an ISO date')
    .option('--description <text>', 'what the key is for')
    .option('-o, --output <format>', 'text or json', 'text')
    .option('--server <url>', 'inferd server URL (or INFERD_SERVER)')
    .action(async (opts: ClientOptions & { role: string; namespace: string[]; expires?: string; description?: string; output: string }) => {
      const body = { role: opts.role, namespaces: opts.namespace.length ? opts.namespace : ['default'], ...(opts.expires ? { expires: opts.expires } : {}), ...(opts.description ? { description: opts.description } : {}) };
      const res = (await apiRequest(opts, 'POST', KEYS, JSON.stringify(body), 'application/json')) as ApiKeyInfo & { key: string };
      if (opts.output === 'json') {
        console.log(JSON.stringify(res, null, 2));
        return;
      }
      console.log(res.key);
      console.error(`created ${res.prefix} (role ${res.role}, namespaces ${res.namespaces === '*' ? '*' : res.namespaces.join(',')}${res.expiresAt ? `, expires ${res.expiresAt}` : ''}); the key is shown only now`);
    });
  keys
    .command('list')
    .description('list API keys (prefix only)')
    .option('-o, --output <format>', 'table or json', 'table')
    .option('--server <url>', 'inferd server URL (or INFERD_SERVER)')
    .action(async (opts: ClientOptions & { output: string }) => {
      const { items } = (await apiRequest(opts, 'GET', KEYS)) as { items: ApiKeyInfo[] };
      if (opts.output === 'json') {
        console.log(JSON.stringify(items, null, 2));
        return;
      }
      console.log(table(
        ['PREFIX', 'ROLE', 'NAMESPACES', 'STATE', 'CREATED', 'EXPIRES', 'LAST USED', 'DESCRIPTION'],
        items.map((k) => [k.prefix, k.role, k.namespaces === '*' ? '*' : k.namespaces.join(','), k.state, k.createdAt, k.expiresAt ?? '-', k.lastUsedAt ?? '-', k.description ?? '']),
      ));
    });
  keys
    .command('revoke <prefix>')
    .description('revoke an API key (by the prefix `keys list` shows); takes effect at once')
    .option('--server <url>', 'inferd server URL (or INFERD_SERVER)')
    .action(async (prefix: string, opts: ClientOptions) => {
      const info = (await apiRequest(opts, 'DELETE', `${KEYS}/${encodeURIComponent(prefix)}`)) as ApiKeyInfo;
      console.log(`revoked ${info.prefix}`);
    });
}
