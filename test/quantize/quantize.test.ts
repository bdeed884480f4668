/**
 * inferd quantize: INT8 and FP16 copies of MLPs generated here load in onnxruntime-node and
 * stay within these bounds of the FP32 model (64 random rows, inputs uniform in [-1, 1)):
 *   INT8 (per-tensor and per-channel): max abs error ≤ 2% of the output range
 *   FP16: max abs error ≤ 2e-3 of max |output| (relative)
 * Measured: see docs/quantization.md (INT8 0.3–0.6% of the range, FP16 ≤ 4.4e-4 relative, over seeds 1–3 × 256 rows).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { encodeModel, floatTensor, node, seededFloats, valueInfo, type GraphSpec } from '../../scripts/onnx-builder.js';
import { mlpGraph } from '../../scripts/gen-onnx-fixtures.js';
import { compareModels, floatToHalf, halfToFloat, quantizeModel, quantizeWeight } from '../../src/quantize/index.js';
import { CLI } from '../helpers/inferd-process.js';

const { onnx } = onnxProto;
const INT8_OF_RANGE = 0.02;
const FP16_RELATIVE = 2e-3;

/** 64→128→10: MatMul + Add, Relu, then a Gemm with transB=1, alpha and beta; logits and softmax out. */
function testMlp(): GraphSpec {
  return {
    name: 'quant_mlp',
    inputs: [valueInfo('input', 'FP32', ['batch', 64])],
    outputs: [valueInfo('logits', 'FP32', ['batch', 10]), valueInfo('probabilities', 'FP32', ['batch', 10])],
    initializers: [
      floatTensor('w1', [64, 128], seededFloats(1, 64 * 128, 1 / Math.sqrt(64))),
      floatTensor('b1', [128], seededFloats(2, 128, 0.1)),
      floatTensor('w2t', [10, 128], seededFloats(3, 10 * 128, 1 / Math.sqrt(128))),
      floatTensor('b2', [10], seededFloats(4, 10, 0.1)),
    ],
    nodes: [
      node('MatMul', ['input', 'w1'], ['h1']),
      node('Add', ['h1', 'b1'], ['h1b']),
      node('Relu', ['h1b'], ['hr1']),
      node('Gemm', ['hr1', 'w2t', 'b2'], ['logits'], { transB: 1, alpha: 1.5, beta: 0.5 }),
      node('Softmax', ['logits'], ['probabilities'], { axis: 1 }),
    ],
  };
}

const dir = mkdtempSync(join(tmpdir(), 'inferd-quantize-'));
const MLP = join(dir, 'mlp.onnx');
writeFileSync(MLP, encodeModel(testMlp()));
const GEMM_MLP = join(dir, 'gemm-mlp.onnx');
writeFileSync(GEMM_MLP, encodeModel(mlpGraph('gemm_mlp', [32, 64, 64, 8], 5).graph));

type GraphProto = onnxProto.onnx.GraphProto;
function graphOf(bytes: Uint8Array): GraphProto {
  return onnx.ModelProto.decode(bytes).graph as GraphProto;
}
function decode(file: string): { graph: GraphProto } {
  return { graph: graphOf(readFileSync(file)) };
}

function cli(...args: string[]) {
  return spawnSync(process.execPath, [CLI, 'quantize', ...args], { encoding: 'utf8' });
}

function ioTypes(file: string): number[] {
  const g = decode(file).graph;
  return [...g.input, ...g.output].map((v) => v.type!.tensorType!.elemType!);
}

test('float16 conversion rounds to nearest even and round-trips', () => {
  for (const v of [0, 1, -2.5, 0.1, 65504, 1e-5, 6e-8, 3.14159]) {
    const back = halfToFloat(floatToHalf(v));
    assert.ok(Math.abs(back - v) <= Math.max(Math.abs(v) * 2 ** -11, 2 ** -25), `${v} → ${back}`);
  }
  assert.equal(floatToHalf(1 + 2 ** -11), floatToHalf(1)); // tie → even
  assert.equal(floatToHalf(70000), 0x7c00);
  assert.equal(halfToFloat(0x3c00), 1);
});

test('weights quantize symmetric: zero maps to 0, the largest magnitude to ±127', () => {
  const w = new Float32Array([0.5, -1, 0.25, 2, 0, -0.5]); // [3, 2]
  const t = quantizeWeight(w, 3, 2, false);
  assert.deepEqual(Array.from(t.scale), [Math.fround(2 / 127)]);
  assert.equal(t.q[3], 127);
  assert.equal(t.q[4], 0);
  const c = quantizeWeight(w, 3, 2, true);
  assert.equal(c.scale.length, 2);
  assert.equal(c.q[0], 127); // column 0's max |w| is 0.5
  assert.equal(c.q[1], -64); // -1 / (2/127) = -63.5 → ties to even
});

for (const perChannel of [false, true]) {
  test(`--int8${perChannel ? ' --per-channel' : ''} via the CLI: INT8 weights, FP32 IO, ~4× smaller, within ${INT8_OF_RANGE * 100}% of the output range`, async () => {
    const out = join(dir, `mlp.int8${perChannel ? '.pc' : ''}.onnx`);
    const r = cli(MLP, out, '--int8', ...(perChannel ? ['--per-channel'] : []));
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /size: .* smaller/);
    assert.match(r.stdout, /1 MatMul, 1 Gemm/);
    assert.match(r.stdout, /logits: max abs err/);

    const g = decode(out).graph;
    const byName = new Map(g.initializer.map((t) => [t.name, t]));
    assert.equal(byName.get('w1_quantized')?.dataType, 3, 'w1 is INT8');
    assert.equal(byName.get('w2t_T_alpha_quantized')?.dataType, 3, 'the Gemm weight is INT8, transposed');
    assert.ok(!byName.has('w1') && !byName.has('w2t'), 'FP32 weights are gone');
    assert.equal(byName.get('w1_scale')?.dims?.length, perChannel ? 1 : 0);
    const ops = g.node.map((n) => n.opType);
    assert.ok(ops.includes('DynamicQuantizeLinear') && ops.includes('MatMulInteger'));
    assert.ok(!ops.includes('Gemm') && !ops.includes('MatMul'));
    assert.deepEqual(ioTypes(out), [1, 1, 1]);
    // The weights are exactly 4× smaller; the file less so, since biases stay FP32 (and scales are added).
    assert.equal(byName.get('w1_quantized')?.rawData?.length, 64 * 128);
    const ratio = statSync(MLP).size / statSync(out).size;
    assert.ok(ratio > 2.8, `size ratio ${ratio}`);

    const acc = await compareModels(readFileSync(MLP), readFileSync(out));
    for (const o of acc.outputs) assert.ok(o.ofRange <= INT8_OF_RANGE, `${o.name}: ${o.maxAbs} is ${o.ofRange} of the range`);
  });
}

test('--fp16 via the CLI: FP16 initializers, FP32 IO kept by default, ~2× smaller, relative error ≤ 2e-3', async () => {
  const out = join(dir, 'mlp.fp16.onnx');
  const r = cli(MLP, out, '--fp16', '--keep-io-fp32');
  assert.equal(r.status, 0, r.stderr);
  const g = decode(out).graph;
  assert.ok(g.initializer.length > 0 && g.initializer.every((t) => t.dataType === 10), 'every initializer is FP16');
  assert.deepEqual(ioTypes(out), [1, 1, 1]);
  const ratio = statSync(MLP).size / statSync(out).size;
  assert.ok(ratio > 1.8, `size ratio ${ratio}`);
  const acc = await compareModels(readFileSync(MLP), readFileSync(out));
  for (const o of acc.outputs) assert.ok(o.relative <= FP16_RELATIVE, `${o.name}: relative ${o.relative}`);

  const session = await ort.InferenceSession.create(out);
  const res = await session.run({ input: new ort.Tensor('float32', seededFloats(9, 2 * 64), [2, 64]) });
  assert.equal(res.logits!.type, 'float32');
  await session.release();
});

test('--fp16 --io-fp16 makes the inputs and outputs FP16', async () => {
  const out = join(dir, 'mlp.fp16io.onnx');
  const r = cli(MLP, out, '--fp16', '--io-fp16');
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(ioTypes(out), [10, 10, 10]);
  const acc = await compareModels(readFileSync(MLP), readFileSync(out));
  for (const o of acc.outputs) assert.ok(o.relative <= FP16_RELATIVE, `${o.name}: relative ${o.relative}`);
});

test('module API: a Gemm chain (mlpGraph) in both modes, with the report figures', async () => {
  const input = readFileSync(GEMM_MLP);
  const int8 = await quantizeModel(input, { mode: 'int8' });
  assert.deepEqual(int8.int8?.converted, { Gemm: 3 });
  assert.ok(int8.sizeAfter < int8.sizeBefore / 2.5);
  for (const o of int8.accuracy!.outputs) assert.ok(o.ofRange <= INT8_OF_RANGE, `${o.name}: ${o.ofRange}`);
  const fp16 = await quantizeModel(input, { mode: 'fp16', evaluate: { batch: 16, seed: 3 } });
  assert.equal(fp16.accuracy!.rows, 16);
  for (const o of fp16.accuracy!.outputs) assert.ok(o.relative <= FP16_RELATIVE, `${o.name}: ${o.relative}`);
  assert.equal(fp16.fp16?.initializersConverted, 6);
});

test('FP16 keeps block-listed ops in FP32 with Casts around them', async () => {
  const input = readFileSync(MLP);
  const r = await quantizeModel(input, { mode: 'fp16', blockOps: ['Softmax'] });
  assert.deepEqual(r.fp16?.keptFp32, { Softmax: 1 });
  for (const o of r.accuracy!.outputs) assert.ok(o.relative <= FP16_RELATIVE);
  const g = graphOf(r.bytes);
  const softmax = g.node.find((n) => n.opType === 'Softmax')!;
  const feeding = g.node.find((n) => (n.output ?? []).includes(softmax.input?.[0] ?? ''))!;
  assert.equal(feeding.opType, 'Cast');
});

test('errors: missing file, non-ONNX file, no mode — clear message, exit code 2', () => {
  const missing = cli(join(dir, 'nope.onnx'), join(dir, 'x.onnx'), '--int8');
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /cannot read .*nope\.onnx: no such file/);

  const text = join(dir, 'notes.onnx');
  writeFileSync(text, 'this is not a model\n');
  const junk = cli(text, join(dir, 'x.onnx'), '--fp16');
  assert.equal(junk.status, 2);
  assert.match(junk.stderr, /notes\.onnx: not an ONNX model/);

  const json = join(dir, 'model.json');
  writeFileSync(json, '{"graph": {}}');
  assert.equal(cli(json, join(dir, 'x.onnx'), '--int8').status, 2);

  const none = cli(MLP, join(dir, 'x.onnx'));
  assert.equal(none.status, 2);
  assert.match(none.stderr, /exactly one of --int8 or --fp16/);
  const both = cli(MLP, join(dir, 'x.onnx'), '--int8', '--io-fp16');
  assert.equal(both.status, 2);
});

test('FP16 finds ops onnxruntime cannot run in FP16 (here Range, with the block list emptied) and keeps them FP32', async () => {
  const model = encodeModel({
    name: 'range',
    inputs: [valueInfo('x', 'FP32', [4])],
    outputs: [valueInfo('y', 'FP32', [4])],
    initializers: [floatTensor('start', [], new Float32Array([0])), floatTensor('limit', [], new Float32Array([4])), floatTensor('delta', [], new Float32Array([1]))],
    nodes: [node('Range', ['start', 'limit', 'delta'], ['r']), node('Mul', ['x', 'r'], ['y'])],
  });
  const r = await quantizeModel(model, { mode: 'fp16', blockOps: [] });
  assert.deepEqual(r.fp16?.addedToBlockList, ['Range']);
  assert.deepEqual(r.fp16?.keptFp32, { Range: 1 });
  assert.ok(r.accuracy!.outputs[0]!.relative <= FP16_RELATIVE);
});
