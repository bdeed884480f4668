import type { Command } from 'commander';
import type { ProcessView } from '../runtimes/process/registry.js';
import { apiRequest, type ClientOptions } from './api-client.js';
import { resourceKind } from './get.js';

interface LogsOptions extends ClientOptions {
  namespace: string;
  tail?: string;
  timestamps?: boolean;
}

/** A process's status and output, or (state `InProcess`) inferd's own lines about an in-process model. */
type Item = Omit<ProcessView, 'state'> & { state: ProcessView['state'] | 'InProcess'; lines: Array<{ time: string; stream: string; text: string }> };

export function registerLogs(program: Command): void {
  program
    .command('logs <type> <name>')
    .description("show an InferenceService's logs: its external model-server process's output, or inferd's own lines about an in-process model")
    .option('-n, --namespace <ns>', 'namespace', 'default')
    .option('--tail <lines>', 'only the last N lines')
    .option('--timestamps', 'prefix each line with its time and stream')
    .option('--server <url>', 'inferd server URL (or INFERD_SERVER)')
    .action(async (type: string, name: string, opts: LogsOptions) => {
      if (resourceKind(type) !== 'isvc') throw new Error('logs supports isvc only');
      const query = opts.tail === undefined ? '' : `?tail=${encodeURIComponent(opts.tail)}`;
      const path = `/apis/inferd.dev/v1/namespaces/${encodeURIComponent(opts.namespace)}/inferenceservices/${encodeURIComponent(name)}/logs${query}`;
      const { items } = (await apiRequest(opts, 'GET', path)) as { items: Item[] };
      for (const item of items) {
        // Status goes to stderr so stdout is the process's output alone.
        if (item.state === 'InProcess') console.error(`# ${name} is served in-process: inferd's own log lines about it`);
        else console.error(statusLine(item));
        const prefix = items.length > 1 ? `[revision ${item.revision ?? '?'}] ` : '';
        for (const l of item.lines) console.log(`${prefix}${opts.timestamps ? `${l.time} ${l.stream} ` : ''}${l.text}`);
      }
    });
}

function statusLine(item: Item): string {
  const exit = item.lastExit ? `, last exit ${item.lastExit.signal ?? `code ${item.lastExit.code}`} at ${item.lastExit.time}` : '';
  return `# revision ${item.revision ?? '?'}: ${item.state}${item.pid !== undefined ? ` pid ${item.pid}` : ''}, restarts ${item.restarts}${exit}${item.logFile ? `; log file ${item.logFile}` : ''}`;
}