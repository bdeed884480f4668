/**
 * FP16 conversion: float initializers, float tensors and float-typed attributes become
 * FLOAT16, with Cast nodes wherever a tensor crosses between FP16 and FP32: at the graph
 * inputs and outputs (unless `ioFp16`) and around nodes kept in FP32 (the block list: ops
 * whose ONNX type constraints or ORT CPU kernels have no float16, and every node outside the
 * default domain). Which tensors are float comes from onnxruntime's type inference
 * (ort-check.ts), so no ONNX shape inference is needed here.
 */
import { InferdError } from '../api/errors.js';
import { toHalves } from './half.js';
import {
  ATTR, DT, dims, floatValues, graphOf, halfTensor, hasSubgraphs, intAttr, isDefaultDomain, makeNode, NameScope,
  type AttributeProto, type Model, type NodeProto, type TensorProto,
} from './onnx-model.js';

/**
 * Kept in FP32 by default. Resize/Upsample take FP32-only scales, Range and the quantization
 * ops have no float16 in their type constraints, NonMaxSuppression takes FP32 boxes, and the
 * random/EyeLike ops pick their output type from a dtype attribute. Everything else measured
 * on onnxruntime-node 1.30 CPU (elementwise, activations, MatMul, Gemm, Conv, Softmax,
 * LayerNormalization, reductions, Where, Cast ...) loads and runs in FP16; ops it cannot run
 * are found at conversion time and added to this list (see quantize.ts).
 */
export const DEFAULT_FP16_BLOCK_LIST = [
  'Resize', 'Upsample', 'Range', 'NonMaxSuppression', 'RoiAlign',
  'DynamicQuantizeLinear', 'QuantizeLinear', 'DequantizeLinear',
  'RandomNormal', 'RandomUniform', 'RandomNormalLike', 'RandomUniformLike', 'Multinomial', 'Bernoulli', 'EyeLike',
];

export interface Fp16Options {
  /** Graph inputs and outputs in FP16 too (default: they stay FP32, with Casts inside). */
  ioFp16?: boolean;
  /** Op types kept in FP32 (default DEFAULT_FP16_BLOCK_LIST). */
  blockOps?: Iterable<string>;
}

export interface Fp16Summary {
  initializersConverted: number;
  /** Float values beyond ±65504 clamped to the largest half. */
  valuesClamped: number;
  nodesFp16: number;
  /** Nodes kept in FP32, by op type. */
  keptFp32: Record<string, number>;
  castsInserted: number;
}

type Precision = 'fp16' | 'fp32';

/** Rewrites the model in place; `types` maps tensor names to ORT element types (tensorTypes()). */
export function convertFp16(model: Model, types: ReadonlyMap<string, string>, opts: Fp16Options = {}): Fp16Summary {
  const g = graphOf(model);
  if (hasSubgraphs(g)) {
    throw new InferdError('invalid_input', 'the model has control-flow subgraphs (If, Loop, Scan); --fp16 does not convert those yet');
  }
  const block = new Set(opts.blockOps ?? DEFAULT_FP16_BLOCK_LIST);
  const io: Precision = opts.ioFp16 ? 'fp16' : 'fp32';
  const names = new NameScope(g);
  const summary: Fp16Summary = { initializersConverted: 0, valuesClamped: 0, nodesFp16: 0, keptFp32: {}, castsInserted: 0 };
  const blocked = (n: NodeProto): boolean => !isDefaultDomain(n) || block.has(n.opType ?? '');

  const isFloat = new Set<string>();
  for (const [name, t] of types) if (t === 'float32') isFloat.add(name);
  for (const t of g.initializer) if (t.dataType === DT.FLOAT) isFloat.add(t.name ?? '');

  // Where each float tensor lives after conversion.
  const home = new Map<string, Precision>();
  const graphInputs = new Set(g.input.map((i) => i.name ?? ''));
  for (const name of graphInputs) if (isFloat.has(name)) home.set(name, io);
  for (const t of g.initializer) {
    const name = t.name ?? '';
    if (!isFloat.has(name) || graphInputs.has(name)) continue;
    const readers = g.node.filter((n) => (n.input ?? []).includes(name));
    home.set(name, readers.some((n) => !blocked(n)) ? 'fp16' : 'fp32');
  }
  for (const n of g.node) for (const o of n.output ?? []) if (o && isFloat.has(o)) home.set(o, blocked(n) ? 'fp32' : 'fp16');

  // A graph output whose tensor lives in the other precision gets an internal name and a Cast to its own.
  const rename = new Map<string, string>();
  const tailCasts: NodeProto[] = [];
  for (const o of g.output) {
    const name = o.name ?? '';
    const at = home.get(name);
    if (!at || at === io || graphInputs.has(name)) continue;
    const internal = names.unique(`${name}_${at}`);
    rename.set(name, internal);
    home.set(internal, at);
    tailCasts.push(makeNode('Cast', [internal], [name], names.unique(`${name}_cast_${io}`), [intAttr('to', io === 'fp16' ? DT.FLOAT16 : DT.FLOAT)]));
  }
  const renamed = (s: string): string => rename.get(s) ?? s;
  for (const t of g.initializer) t.name = renamed(t.name ?? '');

  const casts = new Map<string, string>();
  const out: NodeProto[] = [];
  const castTo = (src: string, to: Precision): string => {
    const key = `${src}\u0000${to}`;
    let name = casts.get(key);
    if (!name) {
      name = names.unique(`${src}_to_${to}`);
      casts.set(key, name);
      out.push(makeNode('Cast', [src], [name], names.unique(`${src}_cast_to_${to}`), [intAttr('to', to === 'fp16' ? DT.FLOAT16 : DT.FLOAT)]));
      summary.castsInserted++;
    }
    return name;
  };

  for (const node of g.node) {
    const isBlocked = blocked(node);
    const need: Precision = isBlocked ? 'fp32' : 'fp16';
    node.input = (node.input ?? []).map((raw) => {
      const i = renamed(raw);
      const at = home.get(i);
      return at && at !== need ? castTo(i, need) : i;
    });
    node.output = (node.output ?? []).map(renamed);
    if (isBlocked) {
      const op = node.opType ?? '';
      summary.keptFp32[op] = (summary.keptFp32[op] ?? 0) + 1;
    } else {
      summary.nodesFp16++;
      convertAttributes(node);
    }
    out.push(node);
  }
  out.push(...tailCasts);
  summary.castsInserted += tailCasts.length;
  g.node = out;

  g.initializer = g.initializer.map((t) => {
    if (t.dataType !== DT.FLOAT || home.get(t.name ?? '') !== 'fp16') return t;
    const { halves, clamped } = toHalves(floatValues(t));
    summary.initializersConverted++;
    summary.valuesClamped += clamped;
    return { ...halfTensor(t.name ?? '', dims(t), halves), docString: t.docString ?? '' } satisfies TensorProto;
  });
  // Every float graph input and output now carries the IO precision (directly or through a Cast).
  for (const v of [...g.input, ...g.output]) {
    const tt = v.type?.tensorType;
    if (tt && tt.elemType === DT.FLOAT && isFloat.has(v.name ?? '')) tt.elemType = io === 'fp16' ? DT.FLOAT16 : DT.FLOAT;
  }
  // Intermediate value_info: drop float entries (onnxruntime re-infers them), keep the rest.
  g.valueInfo = g.valueInfo.filter((v) => !isFloat.has(v.name ?? ''));
  return summary;
}

/** Float-typed attributes of a node that now computes in FP16. */
function convertAttributes(node: NodeProto): void {
  const op = node.opType ?? '';
  const attrs = node.attribute ?? [];
  if (op === 'Cast') {
    for (const a of attrs) if (a.name === 'to' && Number(a.i) === DT.FLOAT) a.i = DT.FLOAT16;
  } else if (op === 'Constant' || op === 'ConstantOfShape') {
    node.attribute = attrs.map((a): AttributeProto => {
      if (a.name === 'value' && a.t && a.t.dataType === DT.FLOAT) return { name: 'value', type: ATTR.TENSOR, t: halfOf(a.t) };
      if (a.name === 'value_float') return { name: 'value', type: ATTR.TENSOR, t: halfTensor('', [], toHalves(new Float32Array([a.f ?? 0])).halves) };
      if (a.name === 'value_floats') {
        const v = Float32Array.from(a.floats ?? []);
        return { name: 'value', type: ATTR.TENSOR, t: halfTensor('', [v.length], toHalves(v).halves) };
      }
      return a;
    });
    // ConstantOfShape without a value makes FP32 zeros.
    if (op === 'ConstantOfShape' && !attrs.some((a) => a.name === 'value')) {
      node.attribute.push({ name: 'value', type: ATTR.TENSOR, t: halfTensor('', [1], new Uint16Array(1)) });
    }
  }
}

function halfOf(t: TensorProto): TensorProto {
  return halfTensor(t.name ?? '', dims(t), toHalves(floatValues(t)).halves);
}
