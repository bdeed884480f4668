/**
 * Quantization: rows/s of a compute-bound MLP (1024→2048→2048→1000, ~8.4M multiply-adds per
 * row, generated here) in FP32, INT8 (dynamic, per-tensor and per-channel) and FP16, run
 * in-process with onnxruntime-node at batch 1 and 32, next to the accuracy each gives up.
 * BENCH_SECONDS sets the length of each timed run; BENCH_QUANT_THREADS the intra-op threads (1).
 */
import * as ort from 'onnxruntime-node';
import { encodeModel, valueInfo } from '../scripts/onnx-builder.js';
import { mlpGraph } from '../scripts/gen-onnx-fixtures.js';
import { seededFloats } from '../scripts/onnx-builder.js';
import { formatBytes, quantizeModel, type QuantizeResult } from '../src/quantize/index.js';
import { percentiles } from './stats.js';

const DURATION_S = Number(process.env.BENCH_SECONDS ?? 5);
const THREADS = Number(process.env.BENCH_QUANT_THREADS ?? 1);
const SIZES = [1024, 2048, 2048, 1000];

/** mlpGraph's MLP with the logits exposed as a second output (probabilities hide most of the error). */
export function benchMlp(): Uint8Array {
  const { graph } = mlpGraph('bench_mlp', SIZES, 42);
  graph.outputs.push(valueInfo('logits', 'FP32', ['batch', SIZES.at(-1)!]));
  return encodeModel(graph);
}

async function rowsPerSecond(bytes: Uint8Array, batch: number): Promise<{ rows: number; p50: number; p99: number }> {
  const session = await ort.InferenceSession.create(bytes, {
    intraOpNumThreads: THREADS,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  });
  try {
    const meta = session.inputMetadata[0]!;
    const data = seededFloats(7, batch * SIZES[0]!);
    const feeds = { [meta.name]: meta.isTensor && meta.type === 'float16' ? new ort.Tensor('float16', new Uint16Array(data.length), [batch, SIZES[0]!]) : new ort.Tensor('float32', data, [batch, SIZES[0]!]) };
    for (let i = 0; i < 3; i++) await session.run(feeds);
    const lat: number[] = [];
    const start = performance.now();
    const end = start + DURATION_S * 1000;
    while (performance.now() < end) {
      const t0 = performance.now();
      await session.run(feeds);
      lat.push(performance.now() - t0);
    }
    const elapsed = (performance.now() - start) / 1000;
    const p = percentiles(lat);
    return { rows: (lat.length * batch) / elapsed, p50: p.p50, p99: p.p99 };
  } finally {
    await session.release();
  }
}

function accuracy(r: QuantizeResult | undefined): string {
  const logits = r?.accuracy?.outputs.find((o) => o.name === 'logits');
  if (!logits) return 'reference';
  return `logits max abs err ${logits.maxAbs.toExponential(2)} (${(logits.ofRange * 100).toFixed(2)}% of range, rel ${logits.relative.toExponential(2)}), top-1 agree ${((logits.top1Agreement ?? 0) * 100).toFixed(1)}%`;
}

export async function benchQuantize(): Promise<string[]> {
  const fp32 = benchMlp();
  const lines = [`Quantization: MLP ${SIZES.join('→')} in-process onnxruntime-node, intraOp=${THREADS}, ${DURATION_S}s per run; accuracy on 64 random rows vs FP32`];
  const variants: Array<[string, Uint8Array, QuantizeResult | undefined, number]> = [['FP32', fp32, undefined, 0]];
  for (const [label, opts] of [
    ['INT8 per-tensor', { mode: 'int8' }],
    ['INT8 per-channel', { mode: 'int8', perChannel: true }],
    ['FP16 (IO FP32)', { mode: 'fp16' }],
  ] as const) {
    const t0 = performance.now();
    const r = await quantizeModel(fp32, { ...opts, source: 'bench-mlp' });
    variants.push([label, r.bytes, r, (performance.now() - t0) / 1000]);
  }
  const base: Record<number, number> = {};
  for (const [label, bytes, r, convertS] of variants) {
    const cells: string[] = [];
    for (const batch of [1, 32]) {
      const f = await rowsPerSecond(bytes, batch);
      base[batch] ??= f.rows;
      cells.push(`b${batch} ${f.rows.toFixed(0).padStart(6)} rows/s (${(f.rows / base[batch]!).toFixed(2)}×, p50 ${f.p50.toFixed(2)} ms)`);
    }
    const made = r ? `, converted in ${convertS.toFixed(1)}s` : '';
    lines.push(`${label.padEnd(17)} ${formatBytes(bytes.byteLength).padStart(10)}  ${cells.join('  ')}  ${accuracy(r)}${made}`);
  }
  return lines;
}

if (process.argv[1]?.endsWith('quantize-bench.js')) {
  for (const line of await benchQuantize()) console.log(line);
}
