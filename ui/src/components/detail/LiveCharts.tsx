import { formatLatency } from '../../lib/format';
import { live, useLive } from '../../lib/store';
import { Chart } from '../Chart';

/** Charts from the `top` samples this tab has collected (a few minutes, kept client-side). */
export function LiveCharts({ modelKey }: { modelKey: string }) {
  useLive(); // re-render on each top event
  const h = live.history.get(modelKey) ?? [];
  if (h.length < 2) return <p class="muted" role="status">Collecting live samples (one per second)… send some requests to see traffic.</p>;
  const t = h.map((s) => s.t);
  const col = <K extends keyof (typeof h)[number]>(k: K) => h.map((s) => s[k] as number | null);
  return (
    <div class="charts" data-testid="live-charts">
      <Chart title="Requests per second" times={t} series={[{ label: 'req/s', values: col('rps') }]} />
      <Chart title="Latency" times={t} unit={formatLatency} series={[{ label: 'p50', values: col('p50') }, { label: 'p95', values: col('p95') }, { label: 'p99', values: col('p99') }]} />
      <Chart title="Errors per second" times={t} series={[{ label: 'errors', values: col('errors') }]} />
      <Chart title="Queue depth" times={t} series={[{ label: 'queued', values: col('queued') }]} />
      {h.some((s) => s.batch !== null) ? <Chart title="Batch size" times={t} series={[{ label: 'batch', values: col('batch') }]} /> : null}
      {h.some((s) => s.replicas !== null) ? <Chart title="Replicas" times={t} series={[{ label: 'replicas', values: col('replicas') }]} /> : null}
    </div>
  );
}
