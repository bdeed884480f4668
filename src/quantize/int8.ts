/**
 * Dynamic INT8 quantization of MatMul and Gemm weights, laid out as onnxruntime's
 * `quantize_dynamic` (QOperator format) lays it out:
 *
 *   A ─DynamicQuantizeLinear─▶ A_q (uint8), A_scale, A_zp
 *   MatMulInteger(A_q, W_q int8, A_zp, W_zp) ─Cast(float)─▶ Mul(·, A_scale·W_scale) ─▶ Y [─Add(C)─▶]
 *
 * Weights are int8 symmetric in [-127, 127] with zero point 0, one scale per tensor or, with
 * `perChannel`, one per output column. Activations are quantized per call to uint8 (asymmetric,
 * the only form DynamicQuantizeLinear has). onnxruntime fuses this pattern at load into its
 * MatMulIntegerToFloat / DynamicQuantizeMatMul kernels, and the file stays standard ONNX.
 * Gemm becomes the same pattern: transB is applied to the stored weight, alpha folds into the
 * weight scale, beta into C, transA becomes a Transpose. Only weights that are initializers
 * (and not overridable graph inputs) are quantized; every other node is left as it was.
 */
import { InferdError } from '../api/errors.js';
import {
  DT, attrFloat, attrInt, defaultOpset, dims, floatTensor, floatValues, graphOf, int8Tensor, intAttr, isDefaultDomain,
  makeNode, namesRead, NameScope, type Model, type NodeProto, type TensorProto,
} from './onnx-model.js';

export interface Int8Options {
  /** One scale per output column instead of one per weight tensor (ORT's `per_channel`). */
  perChannel?: boolean;
}

export interface Int8Summary {
  /** Nodes rewritten, by original op type. */
  converted: Record<string, number>;
  /** Nodes of a quantizable type that were left in FP32, with why. */
  skipped: Array<{ node: string; opType: string; reason: string }>;
  weightsQuantized: number;
}

/** Round half to even, as numpy's round (which ORT's quantizer uses). */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export interface QuantizedWeight {
  q: Int8Array;
  /** Length 1 (per tensor) or N (per column). */
  scale: Float32Array;
}

/** Quantizes a row-major [K, N] weight to int8, symmetric, per tensor or per column (axis 1). */
export function quantizeWeight(w: Float32Array, k: number, n: number, perChannel: boolean): QuantizedWeight {
  const groups = perChannel ? n : 1;
  const absmax = new Float64Array(groups);
  for (let r = 0; r < k; r++) {
    for (let c = 0; c < n; c++) {
      const g = perChannel ? c : 0;
      const a = Math.abs(w[r * n + c]!);
      if (a > absmax[g]!) absmax[g] = a;
    }
  }
  const scale = new Float32Array(groups);
  for (let g = 0; g < groups; g++) scale[g] = absmax[g]! > 0 ? absmax[g]! / 127 : 1;
  const q = new Int8Array(k * n);
  for (let r = 0; r < k; r++) {
    for (let c = 0; c < n; c++) {
      const v = roundHalfEven(w[r * n + c]! / scale[perChannel ? c : 0]!);
      q[r * n + c] = Math.max(-127, Math.min(127, v));
    }
  }
  return { q, scale };
}

function transpose(w: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = w[r * cols + c]!;
  return out;
}

/** Rewrites the model in place. */
export function quantizeInt8(model: Model, opts: Int8Options = {}): Int8Summary {
  const opset = defaultOpset(model);
  if (opset < 11) {
    throw new InferdError('invalid_input', `the model imports ONNX opset ${opset}; INT8 quantization needs opset 11 or later (DynamicQuantizeLinear), convert the model first`);
  }
  const g = graphOf(model);
  const perChannel = opts.perChannel ?? false;
  const names = new NameScope(g);
  const inits = new Map(g.initializer.map((t) => [t.name ?? '', t]));
  const overridable = new Set(g.input.map((i) => i.name ?? ''));
  const summary: Int8Summary = { converted: {}, skipped: [], weightsQuantized: 0 };
  const newInits: TensorProto[] = [];
  const dqlCache = new Map<string, { q: string; scale: string; zp: string }>();
  const weightCache = new Map<string, { q: string; scale: string; zp: string }>();
  const out: NodeProto[] = [];

  const weightOf = (name: string): { t: TensorProto; shape: number[] } | string => {
    const t = inits.get(name);
    if (!t) return 'weight is not an initializer';
    if (overridable.has(name)) return 'weight is also a graph input (overridable)';
    if (t.dataType !== DT.FLOAT) return 'weight is not FLOAT';
    const shape = dims(t);
    if (shape.length !== 2) return `weight has rank ${shape.length}, not 2`;
    return { t, shape };
  };

  const dynamicQuantize = (a: string, base: string): { q: string; scale: string; zp: string } => {
    const hit = dqlCache.get(a);
    if (hit) return hit;
    const r = { q: names.unique(`${a}_quantized`), scale: names.unique(`${a}_scale`), zp: names.unique(`${a}_zero_point`) };
    out.push(makeNode('DynamicQuantizeLinear', [a], [r.q, r.scale, r.zp], names.unique(`${base}_DynamicQuantizeLinear`)));
    dqlCache.set(a, r);
    return r;
  };

  const weight = (t: TensorProto, shape: number[], transB: boolean, alpha: number): { q: string; scale: string; zp: string } => {
    const key = `${t.name}\u0000${transB}\u0000${alpha}`;
    const hit = weightCache.get(key);
    if (hit) return hit;
    let [k, n] = shape as [number, number];
    let w = floatValues(t);
    if (transB) {
      w = transpose(w, k, n);
      [k, n] = [n, k];
    }
    const { q, scale } = quantizeWeight(w, k, n, perChannel);
    for (let i = 0; i < scale.length; i++) scale[i] = scale[i]! * alpha;
    const base = `${t.name}${transB ? '_T' : ''}${alpha !== 1 ? '_alpha' : ''}`;
    const r = { q: names.unique(`${base}_quantized`), scale: names.unique(`${base}_scale`), zp: names.unique(`${base}_zero_point`) };
    const sShape = perChannel ? [n] : [];
    newInits.push(int8Tensor(r.q, [k, n], q), floatTensor(r.scale, sShape, scale), int8Tensor(r.zp, sShape, new Int8Array(scale.length)));
    summary.weightsQuantized++;
    weightCache.set(key, r);
    return r;
  };

  /** DQL → MatMulInteger → Cast → Mul by the product of scales, into `y`. */
  const integerMatMul = (a: string, w: { q: string; scale: string; zp: string }, y: string, base: string): void => {
    const aq = dynamicQuantize(a, base);
    const acc = names.unique(`${y}_quantized`);
    const accF = names.unique(`${y}_quantized_cast_output`);
    const scales = names.unique(`${y}_scales_mul`);
    out.push(
      makeNode('MatMulInteger', [aq.q, w.q, aq.zp, w.zp], [acc], names.unique(`${base}_quant`)),
      makeNode('Cast', [acc], [accF], names.unique(`${base}_quant_cast`), [intAttr('to', DT.FLOAT)]),
      makeNode('Mul', [aq.scale, w.scale], [scales], names.unique(`${base}_quant_scales_mul`)),
      makeNode('Mul', [accF, scales], [y], names.unique(`${base}_quant_output_scale_mul`)),
    );
  };

  g.node.forEach((node, index) => {
    const op = node.opType ?? '';
    if (!isDefaultDomain(node) || (op !== 'MatMul' && op !== 'Gemm')) return void out.push(node);
    const label = node.name || `${op}_${index}`;
    const [a, b, c] = [node.input?.[0] ?? '', node.input?.[1] ?? '', node.input?.[2] ?? ''];
    const y = node.output?.[0] ?? '';
    const found = weightOf(b);
    if (typeof found === 'string') {
      summary.skipped.push({ node: label, opType: op, reason: found });
      return void out.push(node);
    }
    if (op === 'MatMul') {
      integerMatMul(a, weight(found.t, found.shape, false, 1), y, label);
    } else {
      const alpha = attrFloat(node, 'alpha', 1);
      const beta = attrFloat(node, 'beta', 1);
      let input = a;
      if (attrInt(node, 'transA', 0) === 1) {
        input = names.unique(`${a}_transposed`);
        out.push(makeNode('Transpose', [a], [input], names.unique(`${label}_transA`)));
      }
      const w = weight(found.t, found.shape, attrInt(node, 'transB', 0) === 1, alpha);
      if (!c || beta === 0) {
        integerMatMul(input, w, y, label);
      } else {
        const mm = names.unique(`${y}_matmul`);
        integerMatMul(input, w, mm, label);
        let bias = c;
        if (beta !== 1) {
          const ct = inits.get(c);
          bias = names.unique(`${c}_beta`);
          if (ct && ct.dataType === DT.FLOAT && !overridable.has(c)) {
            newInits.push(floatTensor(bias, dims(ct), floatValues(ct).map((v) => v * beta)));
          } else {
            const betaName = names.unique(`${label}_beta_value`);
            newInits.push(floatTensor(betaName, [], new Float32Array([beta])));
            out.push(makeNode('Mul', [c, betaName], [bias], names.unique(`${label}_beta_mul`)));
          }
        }
        out.push(makeNode('Add', [mm, bias], [y], names.unique(`${label}_bias_add`)));
      }
    }
    summary.converted[op] = (summary.converted[op] ?? 0) + 1;
  });

  g.node = out;
  // Drop the FP32 weights nothing reads any more (a weight shared with an unquantized node stays).
  const read = namesRead(g);
  g.initializer = [...g.initializer.filter((t) => read.has(t.name ?? '') || overridable.has(t.name ?? '')), ...newInits];
  return summary;
}
