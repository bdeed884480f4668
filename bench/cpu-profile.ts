/**
 * Where a server's threads spend a load window: V8's sampling profiler (the server is started
 * with `--cpu-prof`; every thread writes its profile when the process exits, and each profile
 * is cut to the window; V8 stamps samples with CLOCK_MONOTONIC microseconds, the clock
 * `process.hrtime` reads) and the CPU each OS thread got over the window (/proc, Linux).
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { load, warmUp, type LoadOptions } from './load.js';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface Profile {
  nodes: Array<{ id: number; callFrame: CallFrame; children?: number[] }>;
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** A directory for the profiles and the Node flags that make a process write them there (NODE_OPTIONS may not carry them). */
export function profiling(): { dir: string; nodeArgs: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'inferd-bench-prof-'));
  return { dir, nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`] };
}

/** Now, on the profiles' clock (µs). */
const monotonicUs = (): number => Number(process.hrtime.bigint() / 1000n);

export interface Observed<T> {
  result: T;
  /** The window on the profiles' clock, for `threadShares` once the process has exited. */
  from: number;
  to: number;
  /** The process's CPU over the window, by OS thread (`cpuLine`). */
  cpu: string;
  /** The same in shares of one core: the server's main thread, its other threads (the profiler's own left out) and the load generator. */
  shares: { main: number; others: number; loadGenerator: number };
}

/** Runs `load` while process `pid` is watched: its window on the profile clock and its OS threads' CPU. */
export async function observe<T>(pid: number, load: () => Promise<T>): Promise<Observed<T>> {
  const before = cpuSnapshot(pid);
  const [ownBefore, machineBefore] = [process.cpuUsage(), machineBusyTicks()];
  const from = monotonicUs();
  const result = await load();
  const to = monotonicUs();
  const own = process.cpuUsage(ownBefore);
  const wallS = (to - from) / 1e6;
  const after = cpuSnapshot(pid);
  const loadGenerator = (own.user + own.system) / 1e6 / wallS;
  // The load generator (autocannon, in this process) and the kernel share the cores with the server.
  const others = `; load generator (this bench process) ${(loadGenerator * 100).toFixed(0)}%; whole machine ${(((machineBusyTicks() - machineBefore) / TICKS_PER_S / wallS) * 100).toFixed(0)}% of ${availableParallelism() * 100}%`;
  return { result, from, to, cpu: cpuLine(before, after, to - from) + others, shares: { ...serverShares(before, after, wallS), loadGenerator } };
}

/** The main thread's share of a core and the rest of the process's, V8's profiler threads left out. */
function serverShares(before: CpuSnapshot, after: CpuSnapshot, wallS: number): { main: number; others: number } {
  const share = (ticks: number) => ticks / TICKS_PER_S / wallS;
  let main = 0;
  let profiler = 0;
  for (const [tid, a] of after.threads) {
    const ticks = a.ticks - (before.threads.get(tid)?.ticks ?? 0);
    if (a.name === 'main') main += ticks;
    else if (a.name.startsWith('v8:Prof')) profiler += ticks;
  }
  return { main: share(main), others: share(after.total - before.total - main - profiler) };
}

/**
 * The observed window's CPU per unit served: the server's threads and the load generator that
 * shares these cores. With `inProcess`, also what the machine's cores allow at that cost: the
 * ceiling any server reaches here, beside the in-process figure.
 */
export function cpuPerUnitLine(o: Observed<unknown>, perSecond: number, unit: string, inProcess?: number): string {
  const us = (share: number) => (share / perSecond) * 1e6;
  const [main, others, gen] = [us(o.shares.main), us(o.shares.others), us(o.shares.loadGenerator)];
  const f = (x: number) => (x >= 1000 ? `${(x / 1000).toFixed(2)} ms` : `${x.toFixed(0)} µs`);
  const line = `     CPU per ${unit}: main thread ${f(main)}, other threads ${f(others)}, load generator ${f(gen)}`;
  if (inProcess === undefined) return line;
  const ceiling = (availableParallelism() * 1e6) / (main + others + gen);
  return `${line}; ${availableParallelism()} cores at that cost allow at most ${ceiling.toFixed(1)} ${unit}s/s = ${(ceiling / inProcess).toFixed(2)} of in-process`;
}

/** Busy clock ticks of all CPUs since boot (/proc/stat: user to steal, less idle and iowait; guest time is already in user). */
function machineBusyTicks(): number {
  const t = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
  return t.reduce((a, b) => a + b, 0) - t[3]! - t[4]!;
}

/**
 * Waits until the whole machine has been idle (under 10% of its cores) for 100 ms, at most
 * `maxMs`. A server that spins after its own load (llama-server's ggml workers poll for
 * ~0.1 s after each graph) must not take the next contender's cores.
 */
export async function machineQuiet(maxMs = 2000): Promise<void> {
  const start = performance.now();
  const windowTicks = (TICKS_PER_S * availableParallelism()) / 10;
  while (performance.now() - start < maxMs) {
    const before = machineBusyTicks();
    await new Promise((resolve) => setTimeout(resolve, 100));
    if (machineBusyTicks() - before <= windowTicks * 0.1) return;
  }
}

/** One second of warm-up load, then `seconds` of the same load observed on process `pid`. */
export async function observeLoad(pid: number, opts: Omit<LoadOptions, 'seconds'>, seconds: number): Promise<Observed<Awaited<ReturnType<typeof load>>>> {
  await warmUp(opts);
  return observe(pid, () => load({ ...opts, seconds }));
}

/** Who owns a frame's self time: grouping that separates inferd's own work from what it runs on. */
function owner(cf: CallFrame): string {
  if (cf.functionName === '(garbage collector)') return 'GC';
  if (cf.functionName === '(program)') return 'V8 (program)';
  if (cf.url === '') return `native ${cf.functionName || '(anonymous)'}`;
  if (cf.url.startsWith('node:')) return 'Node internals (http, net, streams)';
  if (cf.url.includes('/dist/src/')) return 'inferd';
  if (cf.url.includes('/dist/bench/')) return 'the floor server';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(cf.url)?.[1];
  if (pkg === 'fastify' || pkg === 'find-my-way' || pkg?.startsWith('@fastify/')) return 'fastify';
  if (pkg?.startsWith('onnxruntime')) return 'onnxruntime';
  return pkg ?? 'other';
}

interface Window {
  busyUs: number;
  wallUs: number;
  byOwner: Map<string, number>;
  byFunction: Map<string, number>;
  inferd: Map<string, number>;
  /** Busy time in src/security's own code and the Node and native calls it makes. */
  securityUs: number;
}

function cut(p: Profile, from: number, to: number): Window {
  const frame = new Map(p.nodes.map((n) => [n.id, n.callFrame]));
  const parent = new Map(p.nodes.flatMap((n) => (n.children ?? []).map((c) => [c, n.id] as const)));
  // The nearest frame of inferd or fastify decides: a hook's `done` runs the rest of the
  // request inside it, which is not the hook's cost.
  const inSecurity = (id: number | undefined): boolean => {
    if (id === undefined) return false;
    const url = frame.get(id)!.url;
    if (url.includes('/dist/src/')) return url.includes('/dist/src/security/');
    return owner(frame.get(id)!) !== 'fastify' && inSecurity(parent.get(id));
  };
  const w: Window = { busyUs: 0, wallUs: to - from, byOwner: new Map(), byFunction: new Map(), inferd: new Map(), securityUs: 0 };
  let t = p.startTime;
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i + 1] ?? 0; // a sample's time runs until the next one is taken
    t += p.timeDeltas[i] ?? 0;
    if (t < from || t >= to) continue;
    const cf = frame.get(p.samples[i]!)!;
    if (cf.functionName === '(idle)') continue;
    w.busyUs += dt;
    const o = owner(cf);
    w.byOwner.set(o, (w.byOwner.get(o) ?? 0) + dt);
    const fn = `${cf.functionName || '(anonymous)'}${cf.url ? ` ${cf.url.replace(/.*\/(dist\/src|node_modules)\//, '')}:${cf.lineNumber + 1}` : ''}`;
    w.byFunction.set(fn, (w.byFunction.get(fn) ?? 0) + dt);
    if (o === 'inferd') w.inferd.set(fn, (w.inferd.get(fn) ?? 0) + dt);
    if (inSecurity(p.samples[i])) w.securityUs += dt;
  }
  return w;
}

const top = (m: Map<string, number>, total: number, n: number) =>
  [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => `${k} ${((v / total) * 100).toFixed(1)}%`);

/**
 * One line per thread of process `pid` over [fromUs, toUs): busy share of the window; for the
 * main thread also its busy time by owner (native bindings such as writev on their own), its
 * hottest functions and inferd's; given the `requests` answered in the window, the time its
 * authentication and admission hooks took a request. Empty when the process wrote no profile
 * (it did not exit cleanly).
 */
export function threadShares(dir: string, pid: number, fromUs: number, toUs: number, requests?: number): string[] {
  const files = readdirSync(dir).filter((f) => f.split('.')[3] === String(pid)).sort((a, b) => Number(a.split('.')[4]) - Number(b.split('.')[4]));
  const lines: string[] = [];
  for (const f of files) {
    const thread = Number(f.split('.')[4]);
    const w = cut(JSON.parse(readFileSync(join(dir, f), 'utf8')) as Profile, fromUs, toUs);
    // V8 samples wall time: time inside libuv (socket reads, epoll) counts as idle, and a thread
    // waiting for a core counts where it stands. The /proc line has the CPU each thread got.
    const busy = `${((w.busyUs / w.wallUs) * 100).toFixed(0)}% of the window in JS or V8`;
    if (thread !== 0) {
      lines.push(`     worker thread ${thread} (V8 profile): ${busy}`);
      continue;
    }
    lines.push(`     main thread (V8 profile): ${busy}; of that: ${top(w.byOwner, w.busyUs, 8).join(', ')}`);
    lines.push(`       hottest functions: ${top(w.byFunction, w.busyUs, 6).join(', ')}`);
    if (w.inferd.size) lines.push(`       inferd's hottest: ${top(w.inferd, w.busyUs, 5).join(', ')}`);
    if (requests) lines.push(`       authentication and admission hooks (src/security's code and the Node calls it makes): ${(w.securityUs / requests).toFixed(1)} µs a request, ${((w.securityUs / w.busyUs) * 100).toFixed(1)}% of the main thread's busy time`);
  }
  return lines;
}

/** USER_HZ: the unit of /proc's CPU times on Linux. */
const TICKS_PER_S = 100;

interface CpuSnapshot {
  /** The whole process, threads that have exited included. */
  total: number;
  threads: Map<string, { name: string; ticks: number }>;
}

/** user + system ticks from a /proc stat line, and the name in it. */
function statTicks(path: string): { name: string; ticks: number } {
  const stat = readFileSync(path, 'utf8');
  const close = stat.lastIndexOf(')');
  const f = stat.slice(close + 2).split(' ');
  return { name: stat.slice(stat.indexOf('(') + 1, close), ticks: Number(f[11]) + Number(f[12]) };
}

/** CPU ticks of process `pid` and of each of its OS threads (Linux /proc; empty elsewhere). */
function cpuSnapshot(pid: number): CpuSnapshot {
  const snap: CpuSnapshot = { total: NaN, threads: new Map() };
  try {
    snap.total = statTicks(`/proc/${pid}/stat`).ticks;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        const t = statTicks(`/proc/${pid}/task/${tid}/stat`);
        snap.threads.set(tid, tid === String(pid) ? { ...t, name: 'main' } : t);
      } catch {
        // the thread ended between the listing and the read
      }
    }
  } catch {
    // not Linux, or the process is gone
  }
  return snap;
}

/**
 * The CPU between two snapshots taken `wallUs` apart, in shares of one core: the process (threads
 * that ended within the window, such as ggml's per-decode helpers, are only in this total) and
 * its threads by name (`main`, the event loop; Node 20 names worker threads and libuv's pool
 * `node` too, and native libraries' threads inherit their creator's name): native work that the
 * V8 profile cannot see.
 */
function cpuLine(before: CpuSnapshot, after: CpuSnapshot, wallUs: number): string {
  const pct = (ticks: number) => (ticks / TICKS_PER_S / (wallUs / 1e6)) * 100;
  const byName = new Map<string, number[]>();
  for (const [tid, a] of after.threads) {
    const share = pct(a.ticks - (before.threads.get(tid)?.ticks ?? 0));
    if (share >= 1) byName.set(a.name, [...(byName.get(a.name) ?? []), share]);
  }
  const parts = [...byName].map(([name, shares]) => `${name} ${shares.sort((x, y) => y - x).map((x) => `${x.toFixed(0)}%`).join(' + ')}`);
  return `     process CPU ${pct(after.total - before.total).toFixed(0)}% of one core; threads above 1%: ${parts.join(', ') || 'none'}`;
}
