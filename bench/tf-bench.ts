/**
 * TensorFlow runtime bench: rows/s at batch 1 and 32 for the generated Keras-style MLP
 * (16 → 32 ReLU → 3 softmax) on TF.js (wasm and cpu backends), next to the same weights
 * exported to ONNX and run by onnxruntime-node (1 intra-op thread), in the same process.
 * Both are timed in-process on the calling thread, without HTTP, so the line compares kernels.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import * as ort from 'onnxruntime-node';
import { pino } from 'pino';
import { tensorflowRuntime } from '../src/runtimes/tensorflow/index.js';
import { mlpSpec, writeModel } from '../scripts/gen-tf-savedmodel.js';
import { encodeModel, floatTensor, node, seededFloats, valueInfo } from '../scripts/onnx-builder.js';

const DURATION_MS = 1500;

async function rowsPerSecond(batch: number, run: (x: Float32Array) => Promise<unknown>): Promise<number> {
  const x = seededFloats(5, batch * 16);
  for (let i = 0; i < 20; i++) await run(x);
  let rows = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < DURATION_MS) {
    await run(x);
    rows += batch;
  }
  return rows / ((performance.now() - t0) / 1000);
}

export async function benchTensorflow(): Promise<string[]> {
  const spec = mlpSpec();
  const dir = mkdtempSync(join(tmpdir(), 'inferd-tf-bench-'));
  writeModel(join(dir, 'mlp'), spec);
  const [k0, b0, k1, b1] = spec.variables as [typeof spec.variables[0], typeof spec.variables[0], typeof spec.variables[0], typeof spec.variables[0]];
  const onnxBytes = encodeModel({
    name: 'mlp',
    inputs: [valueInfo('input_1', 'FP32', ['batch', 16])],
    outputs: [valueInfo('dense_1', 'FP32', ['batch', 3])],
    initializers: [floatTensor('k0', k0.shape, k0.values), floatTensor('b0', b0.shape, b0.values), floatTensor('k1', k1.shape, k1.values), floatTensor('b1', b1.shape, b1.values)],
    nodes: [
      node('MatMul', ['input_1', 'k0'], ['m0']), node('Add', ['m0', 'b0'], ['a0']), node('Relu', ['a0'], ['r0']),
      node('MatMul', ['r0', 'k1'], ['m1']), node('Add', ['m1', 'b1'], ['a1']), node('Softmax', ['a1'], ['dense_1'], { axis: -1 }),
    ],
  });
  mkdirSync(join(dir, 'onnx'), { recursive: true });
  writeFileSync(join(dir, 'onnx', 'model.onnx'), onnxBytes);
  const session = await ort.InferenceSession.create(join(dir, 'onnx', 'model.onnx'), { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const onnxRun = (x: Float32Array) => session.run({ input_1: new ort.Tensor('float32', x, [x.length / 16, 16]) });

  const lines: string[] = [];
  const onnx1 = await rowsPerSecond(1, onnxRun);
  const onnx32 = await rowsPerSecond(32, onnxRun);
  for (const backend of ['wasm', 'cpu'] as const) {
    const model = await tensorflowRuntime.load({
      name: 'mlp', path: join(dir, 'mlp'), format: { name: 'tensorflow' }, args: [`--backend=${backend}`], env: {},
      threads: { intraOp: 1, interOp: 1 }, log: pino({ level: 'silent' }),
    });
    const tfRun = (x: Float32Array) => model.infer([{ name: 'input_1', datatype: 'FP32', shape: [x.length / 16, 16], data: x }], ['dense_1']);
    const tf1 = await rowsPerSecond(1, tfRun);
    const tf32 = await rowsPerSecond(32, tfRun);
    await model.unload();
    lines.push(
      `tensorflow MLP 16-32-3 (TF.js ${backend}): batch 1 ${tf1.toFixed(0)} rows/s, batch 32 ${tf32.toFixed(0)} rows/s | ` +
      `same weights on onnxruntime: batch 1 ${onnx1.toFixed(0)}, batch 32 ${onnx32.toFixed(0)} rows/s | TF/ONNX ${(tf1 / onnx1).toFixed(2)}× (b1), ${(tf32 / onnx32).toFixed(2)}× (b32)`,
    );
  }
  await session.release();
  return lines;
}

if (process.argv[1]?.endsWith('tf-bench.js')) for (const l of await benchTensorflow()) console.log(l);
