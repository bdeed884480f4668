import type { TrafficStatus } from '../lib/types';

/**
 * The traffic split as bars. Widths are set through the style object, which
 * Preact applies via CSSOM (allowed by the CSP), never as a style attribute.
 */
export function TrafficBars({ traffic }: { traffic: TrafficStatus[] }) {
  if (!traffic.length) return <p class="muted">No revision takes traffic yet (none is ready).</p>;
  return (
    <ul class="traffic" data-testid="traffic">
      {traffic.map((t) => (
        <li key={t.revisionName} data-testid="traffic-row" data-revision={t.revisionName} data-percent={t.percent}>
          <span class="traffic-label">
            {t.revisionName}
            {t.latestRevision ? ' (latest)' : ''}
            {/* The router's tags: latest/prev repeat what the label says; canary names do not. */}
            {t.tag && !(t.tag === 'latest' && t.latestRevision) ? ` [${t.tag}]` : ''}
          </span>
          <span class="bar" role="meter" aria-valuemin={0} aria-valuemax={100} aria-valuenow={t.percent} aria-label={`${t.revisionName} traffic`}>
            <span class={`bar-fill${t.latestRevision ? ' latest' : ''}`} style={{ width: `${t.percent}%` }} />
          </span>
          <span class="traffic-pct">{t.percent}%</span>
        </li>
      ))}
    </ul>
  );
}
