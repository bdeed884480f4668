import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/**
 * The addresses a process tree listens on beyond loopback, from /proc (Linux): socket
 * inodes of every descendant's open files, matched against the LISTEN entries of
 * /proc/net/tcp{,6}. Empty where /proc is not there, so the check is best-effort elsewhere.
 */
export function nonLoopbackListeners(pid: number | undefined): string[] {
  if (pid === undefined) return [];
  const inodes = new Set<string>();
  const seen = new Set<number>();
  const walk = (p: number, depth: number) => {
    if (seen.has(p) || depth > 8) return;
    seen.add(p);
    try {
      for (const fd of readdirSync(`/proc/${p}/fd`)) {
        const m = /^socket:\[(\d+)\]$/.exec(safeReadlink(`/proc/${p}/fd/${fd}`));
        if (m) inodes.add(m[1]!);
      }
      const children = readFileSync(`/proc/${p}/task/${p}/children`, 'utf8').trim();
      for (const c of children ? children.split(/\s+/) : []) walk(Number(c), depth + 1);
    } catch {
      // gone, or no /proc
    }
  };
  walk(pid, 0);
  if (inodes.size === 0) return [];
  const out: string[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // sl local_address rem_address st ... inode (field 9); 0A is LISTEN.
      const [local, state, inode] = [f[1], f[3], f[9]];
      if (local === undefined || state !== '0A' || inode === undefined || !inodes.has(inode)) continue;
      const [addr = '', port = ''] = local.split(':');
      if (!isLoopback(addr)) out.push(`${describeAddr(addr)}:${parseInt(port, 16)}`);
    }
  }
  return out;
}

function safeReadlink(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return '';
  }
}

/** /proc/net hex: IPv4 little-endian (127.x.y.z ends in 7F); IPv6 per 32-bit word, ::1 and ::ffff:127.x. */
function isLoopback(hex: string): boolean {
  if (hex.length === 8) return hex.endsWith('7F');
  if (hex === '00000000000000000000000001000000') return true;
  return hex.startsWith('0000000000000000FFFF0000') && hex.endsWith('7F');
}

function describeAddr(hex: string): string {
  if (hex.length === 8) return [6, 4, 2, 0].map((i) => parseInt(hex.slice(i, i + 2), 16)).join('.');
  return hex === '0'.repeat(32) ? '[::]' : `[${hex.toLowerCase()}]`;
}
