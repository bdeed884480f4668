import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { formatClock } from '../lib/format';

export interface Series {
  label: string;
  values: Array<number | null>;
}

const PALETTE = ['#2563eb', '#d97706', '#dc2626', '#059669'];

/**
 * A uPlot line chart that is created once and fed with setData on each update
 * (recreating it every second would flicker and allocate). Resizes with its box.
 */
export function Chart({ title, times, series, unit }: { title: string; times: number[]; series: Series[]; unit?: (v: number) => string }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const labels = series.map((s) => s.label).join('|');

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const fmt = unit ?? ((v: number) => String(Math.round(v * 100) / 100));
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height: 160,
      legend: { show: true },
      cursor: { show: true },
      scales: { x: { time: true } },
      axes: [
        { stroke: 'currentColor', grid: { stroke: 'rgba(128,128,128,0.2)' }, values: (_u, vals) => vals.map((v) => formatClock(v)) },
        { stroke: 'currentColor', grid: { stroke: 'rgba(128,128,128,0.2)' }, size: 60, values: (_u, vals) => vals.map((v) => fmt(v)) },
      ],
      series: [{ value: (_u, v) => (v === null ? '—' : formatClock(v)) }, ...series.map((s, i) => ({ label: s.label, stroke: PALETTE[i % PALETTE.length]!, width: 2, value: (_u: uPlot, v: number | null) => (v === null ? '—' : fmt(v)) }))],
    };
    plot.current = new uPlot(opts, [times, ...series.map((s) => s.values)] as uPlot.AlignedData, el);
    const ro = new ResizeObserver(() => plot.current?.setSize({ width: Math.max(200, el.clientWidth), height: 160 }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
    // Recreate only when the set of series changes; data goes through setData below.
  }, [labels]);

  useEffect(() => {
    plot.current?.setData([times, ...series.map((s) => s.values)] as uPlot.AlignedData);
  });

  return (
    <figure class="chart" data-testid="chart">
      <figcaption>{title}</figcaption>
      <div ref={box} role="img" aria-label={`${title} chart; latest ${series.map((s) => `${s.label} ${s.values.at(-1) ?? 'none'}`).join(', ')}`} />
    </figure>
  );
}
