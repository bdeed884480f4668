import type { Command } from 'commander';
import type { TopRow } from '../observability/metrics.js';
import { apiRequest, type ClientOptions } from './api-client.js';
import { table } from './table.js';

interface TopOptions extends ClientOptions {
  interval: string;
  once?: boolean;
  namespace?: string;
  sort: string;
}

interface TopResponse {
  time: string;
  windowSeconds: number;
  metricsEnabled: boolean;
  models: TopRow[];
}

export function formatSeconds(s: number | null): string {
  if (s === null) return '-';
  if (s < 1e-3) return `${(s * 1e6).toFixed(0)}µs`;
  if (s < 1) return `${(s * 1e3).toFixed(s < 0.01 ? 2 : 1)}ms`;
  return `${s.toFixed(2)}s`;
}

export function formatBytes(n: number): string {
  if (n <= 0) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 && i > 0 ? 1 : 0)}${units[i]}`;
}

/** The table `inferd top` prints (also used by its test). */
export function renderTop(top: TopResponse, opts: { namespace?: string; sort?: string } = {}): string {
  let rows = top.models.filter((m) => opts.namespace === undefined || m.namespace === opts.namespace);
  const key = opts.sort ?? 'rps';
  const num = (m: TopRow): number => {
    const v = (m as unknown as Record<string, unknown>)[key];
    return typeof v === 'number' ? v : 0;
  };
  rows = [...rows].sort((a, b) => (key === 'name' ? a.model.localeCompare(b.model) : num(b) - num(a)));
  const head = `inferd top — ${top.time} — window ${top.windowSeconds}s${top.metricsEnabled ? '' : ' — metrics are off (observability.metrics.enabled: false)'}`;
  const body = table(
    ['NAMESPACE', 'MODEL', 'REVISION', 'STATE', 'RPS', 'P50', 'P95', 'P99', 'ERRORS', 'ERR%', 'QUEUE', 'RUNNING', 'MEMORY'],
    rows.map((m) => [
      m.namespace, m.model, m.revision, m.state, m.rps.toFixed(m.rps < 10 ? 2 : 0), formatSeconds(m.p50), formatSeconds(m.p95), formatSeconds(m.p99),
      String(m.errors), m.requests ? `${((100 * m.errors) / m.requests).toFixed(1)}` : '-', String(m.queued), String(m.running), formatBytes(m.memoryBytes),
    ]),
  );
  return `${head}\n\n${body}\n`;
}

export function registerTop(program: Command): void {
  program
    .command('top')
    .description('live per-model RPS, p50/p95/p99 latency, errors, queue and memory over a sliding window')
    .option('--server <url>', 'inferd server URL (or INFERD_SERVER)')
    .option('-n, --namespace <ns>', 'only this namespace')
    .option('--interval <seconds>', 'refresh every N seconds', '2')
    .option('--sort <column>', 'rps, p99, p95, p50, errors, queued, memoryBytes or name', 'rps')
    .option('--once', 'print once and exit (no screen clearing)')
    .action(async (opts: TopOptions) => {
      const interval = Math.max(0.2, Number(opts.interval) || 2) * 1000;
      const draw = async () => {
        const top = (await apiRequest(opts, 'GET', '/apis/inferd.dev/v1/top')) as TopResponse;
        return renderTop(top, { ...(opts.namespace ? { namespace: opts.namespace } : {}), sort: opts.sort });
      };
      if (opts.once || !process.stdout.isTTY) {
        process.stdout.write(await draw());
        return;
      }
      let stop = false;
      process.on('SIGINT', () => {
        stop = true;
        process.stdout.write('\x1b[?25h\n');
        process.exit(0);
      });
      process.stdout.write('\x1b[?25l');
      while (!stop) {
        let text: string;
        try {
          text = await draw();
        } catch (err) {
          text = `inferd top: ${(err as Error).message}\n`;
        }
        process.stdout.write(`\x1b[H\x1b[2J${text}\n(refreshing every ${interval / 1000}s; Ctrl-C to quit)\n`);
        await new Promise((r) => setTimeout(r, interval));
      }
    });
}
