import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { REPO_ROOT, startInferd, waitReady } from '../test/helpers/inferd-process.js';
import { bareServer } from './bare.js';
import { load } from './load.js';
import { fmt, percentiles, type Figures } from './stats.js';

const DURATION_S = Number(process.env.BENCH_SECONDS ?? 5);
const MODEL_DIR = join(REPO_ROOT, 'test/fixtures/onnx/mlp');
const ROW = [5.1, 3.5, 1.4, 0.2];
const BODY = JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: ROW }] });

/** One warm-up second first, so the JIT has compiled the request path before it is measured. */
async function run(url: string, connections: number): Promise<Figures> {
  await load({ url, body: BODY, connections, seconds: 1 });
  return load({ url, body: BODY, connections, seconds: DURATION_S });
}

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

async function inferd(intraOp?: number) {
  const args = ['-f', join(REPO_ROOT, 'examples/demo')];
  if (intraOp !== undefined) {
    const cfg = join(mkdtempSync(join(tmpdir(), 'inferd-bench-')), 'config.yaml');
    writeFileSync(cfg, `threads:\n  intraOp: ${intraOp}\n`);
    args.push('--config', cfg);
  }
  const srv = await startInferd(args);
  await waitReady(srv.http);
  return srv;
}

export async function benchV2Rest(): Promise<string[]> {
  const lines = [`V2 REST on a small ONNX MLP (4→8→3), ${DURATION_S}s per run, autocannon`];
  const bare = await bareServer(200);
  const srv = await inferd();
  try {
    const url = `${srv.http}/v2/models/demo-mlp/infer`;
    for (const c of [1, 32]) {
      const ceiling = await inProcess(c, 1);
      const floor = await run(bare.url, c);
      const v2 = await run(url, c);
      lines.push(`-- ${c} concurrent client${c > 1 ? 's' : ''}`);
      lines.push(fmt('in-process onnxruntime-node (ceiling)', ceiling));
      lines.push(fmt('bare fastify, fixed body (HTTP floor)', floor));
      lines.push(fmt('inferd V2 REST', v2, floor));
    }
  } finally {
    await srv.stop();
    bare.stop();
  }
  // Thread policy: measured, not guessed. One intra-op thread leaves the second core to the event loop.
  for (const intra of [1, 2]) {
    const s = await inferd(intra);
    try {
      lines.push(fmt(`inferd V2 REST, 32 clients, intraOp=${intra}`, await run(`${s.http}/v2/models/demo-mlp/infer`, 32)));
    } finally {
      await s.stop();
    }
  }
  return lines;
}
