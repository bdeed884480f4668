/**
 * Accuracy loss of a converted model against its FP32 original: both run in
 * onnxruntime-node on the same seeded random inputs, outputs compared element by element.
 */
import * as ort from 'onnxruntime-node';
import { fromHalves, toHalves } from './half.js';
import { openSession } from './ort-check.js';
import { mulberry32 } from './seeded-random.js';

export interface AccuracyOptions {
  /** Rows per run: symbolic (dynamic) first dimensions take this value, other symbolic dimensions 1. Default 64. */
  batch?: number;
  /** Seed of the input generator. Default 1. */
  seed?: number;
  /** Float inputs are uniform in [-range, range). Default 1. */
  range?: number;
}

export interface OutputAccuracy {
  name: string;
  elements: number;
  /** max |candidate − reference| */
  maxAbs: number;
  meanAbs: number;
  /** max(reference) − min(reference) */
  range: number;
  /** maxAbs / range (0 when the range is 0 and the outputs agree) */
  ofRange: number;
  /** maxAbs / max |reference| */
  relative: number;
  /** For [rows, classes>1] outputs: the share of rows whose arg-max agrees. */
  top1Agreement?: number;
}

export interface AccuracyReport {
  rows: number;
  inputRange: number;
  outputs: OutputAccuracy[];
}

type Feed = { shape: number[]; f32?: Float32Array; type: string };

function randomFeeds(meta: readonly ort.InferenceSession.ValueMetadata[], batch: number, seed: number, range: number): Map<string, Feed> {
  const next = mulberry32(seed);
  const feeds = new Map<string, Feed>();
  for (const m of meta) {
    if (!m.isTensor) throw new Error(`input "${m.name}" is not a tensor; random inputs cannot be made for it`);
    const shape = m.shape.map((d, i) => (typeof d === 'number' && d >= 0 ? d : i === 0 ? batch : 1));
    const count = shape.reduce((a, b) => a * b, 1);
    const feed: Feed = { shape, type: m.type };
    if (m.type === 'float32' || m.type === 'float16' || m.type === 'float64') {
      feed.f32 = new Float32Array(count);
      for (let i = 0; i < count; i++) feed.f32[i] = (next() * 2 - 1) * range;
    }
    feeds.set(m.name, feed);
  }
  return feeds;
}

/** The same values as a tensor of the type this session wants (integers and bools are zeros). */
function toTensor(feed: Feed, type: string): ort.Tensor {
  const n = feed.shape.reduce((a, b) => a * b, 1);
  const f = feed.f32 ?? new Float32Array(n);
  switch (type) {
    case 'float32': return new ort.Tensor('float32', f, feed.shape);
    case 'float16': return new ort.Tensor('float16', toHalves(f).halves, feed.shape);
    case 'float64': return new ort.Tensor('float64', Float64Array.from(f), feed.shape);
    case 'int64': return new ort.Tensor('int64', new BigInt64Array(n), feed.shape);
    case 'int32': return new ort.Tensor('int32', new Int32Array(n), feed.shape);
    case 'bool': return new ort.Tensor('bool', new Uint8Array(n), feed.shape);
    default: throw new Error(`input of type ${type}: random inputs are not generated for it`);
  }
}

function asNumbers(t: ort.Tensor): Float64Array {
  if (t.type === 'float16') return Float64Array.from(fromHalves(t.data as Uint16Array));
  if (t.type === 'int64' || t.type === 'uint64') return Float64Array.from(t.data as BigInt64Array, (v) => Number(v));
  if (t.type === 'string') throw new Error('string outputs are not compared');
  return Float64Array.from(t.data as ArrayLike<number>);
}

export function compareOutput(name: string, ref: Float64Array, got: Float64Array, dims: readonly number[]): OutputAccuracy {
  if (ref.length !== got.length) throw new Error(`output "${name}": ${got.length} values, the FP32 model gives ${ref.length}`);
  let maxAbs = 0, sumAbs = 0, lo = Infinity, hi = -Infinity, maxRef = 0;
  for (let i = 0; i < ref.length; i++) {
    const r = ref[i]!;
    const d = Math.abs(got[i]! - r);
    if (!(d <= maxAbs)) maxAbs = d; // NaN sticks
    sumAbs += d;
    lo = Math.min(lo, r);
    hi = Math.max(hi, r);
    maxRef = Math.max(maxRef, Math.abs(r));
  }
  const range = ref.length ? hi - lo : 0;
  const acc: OutputAccuracy = {
    name, elements: ref.length, maxAbs, meanAbs: ref.length ? sumAbs / ref.length : 0, range,
    ofRange: range > 0 ? maxAbs / range : maxAbs === 0 ? 0 : Infinity,
    relative: maxRef > 0 ? maxAbs / maxRef : maxAbs === 0 ? 0 : Infinity,
  };
  const [rows, cols] = dims;
  if (dims.length === 2 && rows !== undefined && cols !== undefined && cols > 1 && rows > 0) {
    let agree = 0;
    for (let r = 0; r < rows; r++) {
      let [ir, ig] = [0, 0];
      for (let c = 1; c < cols; c++) {
        if (ref[r * cols + c]! > ref[r * cols + ir]!) ir = c;
        if (got[r * cols + c]! > got[r * cols + ig]!) ig = c;
      }
      if (ir === ig) agree++;
    }
    acc.top1Agreement = agree / rows;
  }
  return acc;
}

/** Runs both models on the same random inputs and compares every output of the reference. */
export async function compareModels(reference: Uint8Array, candidate: Uint8Array, opts: AccuracyOptions = {}): Promise<AccuracyReport> {
  const batch = opts.batch ?? 64;
  const range = opts.range ?? 1;
  const [ref, cand] = [await openSession(reference), await openSession(candidate)];
  try {
    const feeds = randomFeeds(ref.inputMetadata, batch, opts.seed ?? 1, range);
    const candTypes = new Map(cand.inputMetadata.map((m) => [m.name, m.isTensor ? m.type : 'non-tensor']));
    const refFeeds: Record<string, ort.Tensor> = {};
    const candFeeds: Record<string, ort.Tensor> = {};
    for (const [name, feed] of feeds) {
      refFeeds[name] = toTensor(feed, feed.type);
      candFeeds[name] = toTensor(feed, candTypes.get(name) ?? feed.type);
    }
    const [want, got] = [await ref.run(refFeeds), await cand.run(candFeeds)];
    const outputs: OutputAccuracy[] = [];
    for (const name of ref.outputNames) {
      const w = want[name]!;
      const gt = got[name];
      if (!gt) throw new Error(`the converted model has no output "${name}"`);
      if (w.type === 'string' || w.type === 'bool') continue;
      outputs.push(compareOutput(name, asNumbers(w), asNumbers(gt), w.dims));
    }
    return { rows: batch, inputRange: range, outputs };
  } finally {
    await ref.release();
    await cand.release();
  }
}
