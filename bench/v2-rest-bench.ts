import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { REPO_ROOT, startInferd, waitReady, type InferdProcess } from '../test/helpers/inferd-process.js';
import { adminKeyOf, createKey } from '../test/helpers/keys.js';
import { bareServer } from './bare.js';
import { observeLoad, profiling, threadShares } from './cpu-profile.js';
import { load, type LoadOptions } from './load.js';
import { fmt, median, percentiles, type Figures } from './stats.js';

const DURATION_S = Number(process.env.BENCH_SECONDS ?? 5);
const MODEL_DIR = join(REPO_ROOT, 'test/fixtures/onnx/mlp');
const ROW = [5.1, 3.5, 1.4, 0.2];
const BODY = JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: ROW }] });
/** Each side runs this many times, alternating with the others; the best run counts (noise only ever slows a run down). */
const ROUNDS = 2;

/** The ceiling: the same model run in-process by onnxruntime-node, no HTTP. */
async function inProcess(concurrency: number, intraOp: number): Promise<Figures> {
  const session = await ort.InferenceSession.create(join(MODEL_DIR, 'model.onnx'), { intraOpNumThreads: intraOp, interOpNumThreads: 1 });
  const input = new Float32Array(ROW);
  const lat: number[] = [];
  const end = performance.now() + DURATION_S * 1000;
  let count = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) {
      const t0 = performance.now();
      await session.run({ input: new ort.Tensor('float32', input, [1, 4]) });
      lat.push(performance.now() - t0);
      count++;
    }
  }));
  await session.release();
  return { rps: count / DURATION_S, ...percentiles(lat) };
}

interface Target {
  label: string;
  url: string;
  headers?: Record<string, string>;
}

/** The bench's request body sent to `t` by `connections` clients. */
const loadOf = (t: Target, connections: number): Omit<LoadOptions, 'seconds'> => ({ url: t.url, body: BODY, connections, ...(t.headers ? { headers: t.headers } : {}) });

/** inferd on the demo manifest: with the server's default authentication, or `--auth none`. */
async function inferd(auth: 'default' | 'none', intraOp?: number, nodeArgs: string[] = []): Promise<{ srv: InferdProcess; target: Target }> {
  const args = ['-f', join(REPO_ROOT, 'examples/demo')];
  if (intraOp !== undefined) {
    const cfg = join(mkdtempSync(join(tmpdir(), 'inferd-bench-')), 'config.yaml');
    writeFileSync(cfg, `threads:\n  intraOp: ${intraOp}\n`);
    args.push('--config', cfg);
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'inferd-bench-'));
  const srv = await startInferd(auth === 'none' ? [...args, '--auth', 'none'] : args, { dataDir, serverDefaultAuth: true, nodeArgs });
  await waitReady(srv.http);
  const url = `${srv.http}/v2/models/demo-mlp/infer`;
  if (auth === 'none') return { srv, target: { label: 'inferd V2 REST, --auth none', url } };
  const key = await createKey(srv.http, adminKeyOf(dataDir), 'predictor', ['default']);
  return { srv, target: { label: 'inferd V2 REST, default (auth on)', url, headers: { authorization: `Bearer ${key}` } } };
}

/** Alternates the targets ROUNDS times after one warm-up second each; the best run of each. */
async function race(targets: Target[], connections: number): Promise<Figures[]> {
  const best: Figures[] = targets.map(() => ({ rps: 0, p50: NaN, p95: NaN, p99: NaN }));
  for (const t of targets) await load({ ...loadOf(t, connections), seconds: 1 });
  for (let r = 0; r < ROUNDS; r++) {
    for (const [i, t] of targets.entries()) {
      const f = await load({ ...loadOf(t, connections), seconds: DURATION_S });
      if (f.rps > best[i]!.rps) best[i] = f;
    }
  }
  return best;
}

/** Paired rounds for the cost of authentication: each round one run per side, the order alternating. */
const AUTH_ROUNDS = 6;

/**
 * What authentication costs: 1 − auth on / --auth none, the median of AUTH_ROUNDS paired runs
 * (range). The best-of-ROUNDS figures above come from two runs a side minutes apart, where
 * this host's drift alone moved the difference by 20 points.
 */
async function authCost(on: Target, off: Target, connections: number): Promise<string> {
  const seconds = DURATION_S;
  const costs: number[] = [];
  for (let r = 0; r < AUTH_ROUNDS; r++) {
    const rps = new Map<Target, number>();
    for (const t of r % 2 ? [off, on] : [on, off]) rps.set(t, (await load({ ...loadOf(t, connections), seconds })).rps);
    costs.push(1 - rps.get(on)! / rps.get(off)!);
  }
  return `authentication costs ${pct(median(costs))} (median of ${AUTH_ROUNDS} paired runs of ${seconds}s, ${pct(Math.min(...costs))} to ${pct(Math.max(...costs))}; goal ≤ 5%)`;
}

/**
 * The profiles behind the 64-client figures, each server alone under the sampling profiler:
 * where the main thread's time goes in the node:http + JSON + onnxruntime floor and in inferd
 * (auth on), so the gap between them reads as owners and functions.
 */
async function profiles(): Promise<string[]> {
  const prof = profiling();
  const lines = ['-- CPU profiles at 64 clients, each server alone (V8 sampling profiler and /proc; throughput under the profiler, not a figure)'];
  /** `hooks`: also the time inferd's authentication and admission hooks took a request. */
  const watch = async (label: string, pid: number, target: Target, stop: () => Promise<unknown>, hooks = false) => {
    const o = await observeLoad(pid, loadOf(target, 64), DURATION_S).finally(stop);
    lines.push(`   ${label}, ${o.result.rps.toFixed(0)} req/s:`, o.cpu, ...threadShares(prof.dir, pid, o.from, o.to, hooks ? o.result.total : undefined));
  };
  const floor = await bareServer(join(MODEL_DIR, 'model.onnx'), 'bare-onnx-server', [], prof.nodeArgs);
  await watch('bare node:http + JSON + onnxruntime run', floor.pid, { label: 'floor', url: floor.url }, floor.stop);
  const on = await inferd('default', undefined, prof.nodeArgs);
  await watch(on.target.label, on.srv.child.pid!, on.target, () => on.srv.stop(), true);
  return lines;
}

const pct = (x: number) => `${(x * 100).toFixed(0)}%`;

export async function benchV2Rest(): Promise<string[]> {
  const lines = [`V2 REST JSON on a small ONNX MLP (4→8→3), ${DURATION_S}s per run, best of ${ROUNDS} alternating runs, autocannon`];
  const bare = await bareServer(200);
  const bareModel = await bareServer(join(MODEL_DIR, 'model.onnx'), 'bare-onnx-server');
  const on = await inferd('default');
  const off = await inferd('none');
  try {
    for (const c of [1, 64]) {
      const ceiling = await inProcess(c, 1);
      const [floor, withModel, authOn, authOff] = await race([{ label: 'floor', url: bare.url }, { label: 'floor with the model', url: bareModel.url }, on.target, off.target], c);
      lines.push(`-- ${c} concurrent client${c > 1 ? 's' : ''}`);
      lines.push(fmt('in-process onnxruntime-node (ceiling)', ceiling));
      lines.push(fmt('bare node:http, fixed body (HTTP floor)', floor!));
      lines.push(fmt('bare node:http + JSON + onnxruntime run', withModel!, floor));
      lines.push(fmt(on.target.label, authOn!, floor));
      lines.push(fmt(off.target.label, authOff!, floor));
      lines.push(`ratio default/floor ${(authOn!.rps / floor!.rps).toFixed(2)} (goal ≥ 0.70), default/(floor with the model) ${(authOn!.rps / withModel!.rps).toFixed(2)}; ${await authCost(on.target, off.target, c)}`);
    }
  } finally {
    await on.srv.stop();
    await off.srv.stop();
    await bare.stop();
    await bareModel.stop();
  }
  lines.push(...(await profiles()));
  // Thread policy: measured, not guessed. One intra-op thread leaves the second core to the event loop.
  for (const intra of [1, 2]) {
    const s = await inferd('default', intra);
    try {
      const [f] = await race([s.target], 64);
      lines.push(fmt(`inferd V2 REST, 64 clients, intraOp=${intra}`, f!));
    } finally {
      await s.srv.stop();
    }
  }
  return lines;
}
