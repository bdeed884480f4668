/** Formatting in the user's locale and time zone (Intl), so times read as local. */
const timeFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
const clockFmt = new Intl.DateTimeFormat(undefined, { timeStyle: 'medium' });
const numFmt = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });

export function formatTime(iso: string | number | null | undefined): string {
  if (iso === null || iso === undefined || iso === '') return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : timeFmt.format(d);
}

export const formatClock = (seconds: number): string => clockFmt.format(new Date(seconds * 1000));

export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${numFmt.format(v)} ${units[i]}`;
}

/** Seconds → "12.3 ms" / "1.2 s". */
export function formatLatency(s: number | null | undefined): string {
  if (s === null || s === undefined) return '—';
  return s < 1 ? `${numFmt.format(s * 1000)} ms` : `${numFmt.format(s)} s`;
}

export const formatNumber = (n: number | null | undefined): string => (n === null || n === undefined ? '—' : numFmt.format(n));

export function formatDuration(seconds: number): string {
  const s = Math.floor(seconds);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  return d ? `${d}d ${h}h` : h ? `${h}h ${m}m` : m ? `${m}m ${s % 60}s` : `${s}s`;
}
