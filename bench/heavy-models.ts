import { writeFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { encodeModel, floatTensor, node, seededFloats, valueInfo, type GraphSpec } from '../scripts/onnx-builder.js';
import { percentiles, type Figures } from './stats.js';

/** PP-OCRv4 det's input; the model itself cannot be downloaded here, so a stand-in of similar cost is generated. */
export const CONV_INPUT = [1, 3, 320, 320];

/**
 * A DBNet-like detector: a stride-2 conv stem down to 1/4 resolution, a 3×3 conv body of
 * 64 channels there, a 1×1 conv + sigmoid probability map (~0.85 G multiply-adds a call).
 */
export function convGraph(): GraphSpec {
  const layers: Array<[cin: number, cout: number, stride: number]> = [[3, 32, 2], [32, 64, 2], [64, 64, 1], [64, 64, 1], [64, 64, 1]];
  const nodes = [];
  const initializers = [];
  let prev = 'image';
  for (const [i, [cin, cout, stride]] of layers.entries()) {
    initializers.push(floatTensor(`w${i}`, [cout, cin, 3, 3], seededFloats(40 + i, cout * cin * 9, 1 / Math.sqrt(cin * 9))));
    initializers.push(floatTensor(`b${i}`, [cout], seededFloats(60 + i, cout, 0.1)));
    nodes.push(node('Conv', [prev, `w${i}`, `b${i}`], [`c${i}`], { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [stride, stride] }));
    nodes.push(node('Relu', [`c${i}`], [`r${i}`]));
    prev = `r${i}`;
  }
  initializers.push(floatTensor('wh', [1, 64, 1, 1], seededFloats(80, 64, 1 / 8)), floatTensor('bh', [1], seededFloats(81, 1, 0.1)));
  nodes.push(node('Conv', [prev, 'wh', 'bh'], ['logits'], { kernel_shape: [1, 1] }), node('Sigmoid', ['logits'], ['maps']));
  const side = CONV_INPUT[2]! / 4;
  return { name: 'dbnet_like', inputs: [valueInfo('image', 'FP32', CONV_INPUT)], outputs: [valueInfo('maps', 'FP32', [1, 1, side, side])], initializers, nodes };
}

export function writeConvModel(file: string): void {
  writeFileSync(file, encodeModel(convGraph()));
}

/**
 * onnxruntime-node in the bench's own process, one call at a time, at `rows` rows a call:
 * the best of 1 and 2 intra-op threads (what a user tuning by hand would pick).
 */
export async function inProcessBest(file: string, input: string, shape: number[], seconds: number): Promise<Figures & { threads: number }> {
  let best: (Figures & { threads: number }) | undefined;
  for (const threads of [1, 2]) {
    const session = await ort.InferenceSession.create(file, { intraOpNumThreads: threads, interOpNumThreads: 1 });
    const rows = shape[0]!;
    const x = new ort.Tensor('float32', seededFloats(5, shape.reduce((a, b) => a * b, 1)), shape);
    await session.run({ [input]: x });
    const lat: number[] = [];
    const end = performance.now() + seconds * 1000;
    while (performance.now() < end) {
      const t0 = performance.now();
      await session.run({ [input]: x });
      lat.push(performance.now() - t0);
    }
    await session.release();
    const figures = { rps: (lat.length * rows) / seconds, ...percentiles(lat), threads };
    if (!best || figures.rps > best.rps) best = figures;
  }
  return best!;
}

/** A V2 binary-extension body of one FP32 tensor, binary output asked for. */
export function binaryBody(name: string, shape: number[], seed: number): { body: Buffer; headers: Record<string, string> } {
  const data = seededFloats(seed, shape.reduce((a, b) => a * b, 1));
  const head = Buffer.from(JSON.stringify({ parameters: { binary_data_output: true }, inputs: [{ name, datatype: 'FP32', shape, parameters: { binary_data_size: data.byteLength } }] }));
  return { body: Buffer.concat([head, Buffer.from(data.buffer)]), headers: { 'inference-header-content-length': String(head.length), 'content-type': 'application/octet-stream' } };
}
