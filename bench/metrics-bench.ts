/**
 * Cost of observability on the small-model V2 REST path: the same demo model served by
 * inferd processes that differ only in `observability:` config, loaded in alternating
 * rounds in one run (the median round counts, so drift on a shared 2-core machine hits
 * every variant alike). Target: metrics on costs < 5% of throughput.
 *
 * On a busy shared machine throughput swings by tens of percent between rounds, so the
 * figure that decides is the server's own CPU time per request (utime+stime of the
 * inferd process from /proc, all threads): what a CPU-bound server pays for each
 * request, which is what limits its throughput.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, startInferd, waitReady, type InferdProcess } from '../test/helpers/inferd-process.js';
import { Metrics } from '../src/observability/metrics.js';
import { ModelRouter } from '../src/serving/model-router.js';
import { load } from './load.js';
import { median, type Figures } from './stats.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_METRICS_ROUNDS ?? 3);
const CONNECTIONS = 32;
const BODY = JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: [5.1, 3.5, 1.4, 0.2] }] });

const VARIANTS: Array<{ label: string; config: string }> = [
  { label: 'metrics off, request log off', config: 'observability:\n  metrics: {enabled: false}\n  requestLog: {level: "off"}\n  payloadLogger: {enabled: false}\n' },
  { label: 'metrics on (default config)', config: '' },
  { label: 'metrics on + request log at info, every request', config: 'observability:\n  requestLog: {level: info}\n' },
  { label: 'metrics on + request log at info, 10% sampled', config: 'observability:\n  requestLog: {level: info, sampleRate: 0.1}\n' },
];

async function start(config: string): Promise<InferdProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'inferd-metrics-bench-'));
  writeFileSync(join(dir, 'config.yaml'), config || '{}\n');
  // The request log goes to stderr, which the test helper reads (as a log collector would).
  const srv = await startInferd(['-f', join(REPO_ROOT, 'examples/demo'), '--config', join(dir, 'config.yaml')]);
  await waitReady(srv.http);
  return srv;
}

/** CPU seconds (user + system, all threads) the process has used; undefined off Linux. */
function cpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return undefined;
  }
}

/** The metrics work one request adds, in process: its series (count, histogram, window) and the scheduler's (queue, compute, batch). */
function hotPathNs(): number {
  const m = new Metrics({ router: new ModelRouter(), processMetrics: false, gpu: false });
  const ep = { namespace: 'default', name: 'demo-mlp', revisionName: 'demo-mlp-predictor-00001' };
  const sched = m.schedulerSeries(ep);
  const n = 1_000_000;
  let best = Infinity;
  for (let round = 0; round < 5; round++) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      m.seriesFor(ep, 'v2').done(200, 0.0003 + (i % 7) * 1e-4);
      sched.ran([0.05], 0.2);
    }
    best = Math.min(best, ((performance.now() - t0) * 1e6) / n);
  }
  return best;
}

export async function benchMetrics(): Promise<string[]> {
  const ns = hotPathNs();
  const lines = [`metrics hot path, in process: ${ns.toFixed(0)} ns per request (series lookup, status count, latency histogram, top window, queue/compute/batch histograms)`, `Observability overhead: V2 REST, demo ONNX MLP, ${CONNECTIONS} connections, ${ROUNDS} alternating rounds of ${SECONDS}s, median round`];
  const servers: InferdProcess[] = [];
  try {
    for (const v of VARIANTS) servers.push(await start(v.config));
    const results: Figures[][] = VARIANTS.map(() => []);
    const cpuPerReq: number[][] = VARIANTS.map(() => []);
    const url = (s: InferdProcess) => `${s.http}/v2/models/demo-mlp/infer`;
    for (const s of servers) await load({ url: url(s), body: BODY, connections: CONNECTIONS, seconds: 1 }); // warm-up (JIT)
    for (let r = 0; r < ROUNDS; r++) {
      for (let i = 0; i < servers.length; i++) {
        const pid = servers[i]!.child.pid;
        const cpu0 = cpuSeconds(pid);
        const f = await load({ url: url(servers[i]!), body: BODY, connections: CONNECTIONS, seconds: SECONDS });
        const cpu1 = cpuSeconds(pid);
        results[i]!.push({ rps: f.total / SECONDS, p50: f.p50, p95: f.p95, p99: f.p99 });
        if (cpu0 !== undefined && cpu1 !== undefined && f.total > 0) cpuPerReq[i]!.push(((cpu1 - cpu0) / f.total) * 1e6);
      }
    }
    const base = median(results[0]!.map((f) => f.rps));
    const baseCpu = cpuPerReq[0]!.length ? median(cpuPerReq[0]!) : undefined;
    VARIANTS.forEach((v, i) => {
      const rps = median(results[i]!.map((f) => f.rps));
      const p99 = median(results[i]!.map((f) => f.p99));
      const cpu = cpuPerReq[i]!.length ? median(cpuPerReq[i]!) : undefined;
      const delta = i === 0 ? '' : `  throughput ${(((rps - base) / base) * 100).toFixed(1)}%${cpu !== undefined && baseCpu ? `, CPU/request ${(((cpu - baseCpu) / baseCpu) * 100).toFixed(1)}%` : ''} vs off`;
      lines.push(`${v.label.padEnd(50)} ${rps.toFixed(0).padStart(7)} req/s  p99 ${p99.toFixed(2)} ms  server CPU ${cpu?.toFixed(0) ?? '?'} µs/req  (rounds ${results[i]!.map((f) => f.rps.toFixed(0)).join('/')})${delta}`);
    });
    const on = median(results[1]!.map((f) => f.rps));
    const onCpu = cpuPerReq[1]!.length ? median(cpuPerReq[1]!) : undefined;
    if (baseCpu) lines.push(`hot path share of the server's CPU per request: ${((ns / 1000 / baseCpu) * 100).toFixed(2)}%`);
    lines.push(`metrics overhead: ${onCpu !== undefined && baseCpu ? `${(((onCpu - baseCpu) / baseCpu) * 100).toFixed(1)}% server CPU per request, ` : ''}${(((base - on) / base) * 100).toFixed(1)}% throughput (target < 5%)`);
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
  return lines;
}

// `node dist/bench/metrics-bench.js` runs it alone.
if (process.argv[1]?.endsWith('metrics-bench.js')) for (const l of await benchMetrics()) console.log(l);
