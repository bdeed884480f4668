import type { StorageProgress } from '../storage/download.js';

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function formatBytes(n: number): string {
  let i = 0;
  while (n >= 1024 && i < UNITS.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? Math.round(n) : n.toFixed(1)} ${UNITS[i]}`;
}

/** `12.0 MiB / 40.0 MiB (30%) at 5.1 MiB/s, ETA 6 s, file 1/3` */
export function formatProgress(p: StorageProgress): string {
  const total = p.total !== undefined ? ` / ${formatBytes(p.total)} (${Math.floor((100 * p.bytes) / Math.max(p.total, 1))}%)` : '';
  const eta = p.etaSeconds !== undefined ? `, ETA ${Math.ceil(p.etaSeconds)} s` : '';
  const files = p.files.total > 1 ? `, file ${Math.min(p.files.done + 1, p.files.total)}/${p.files.total}` : '';
  return `${formatBytes(p.bytes)}${total} at ${formatBytes(p.rate)}/s${eta}${files}`;
}
