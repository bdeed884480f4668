import { dtypeName, num, shapeDims, type TensorProtoMsg } from './tf-proto.js';

/** How TF.js holds each TensorFlow dtype (it has no 64-bit or 16-bit types). */
export type JsDtype = 'float32' | 'int32' | 'bool' | 'string';

export function jsDtype(tfDtype: string): JsDtype | undefined {
  switch (tfDtype.replace(/_REF$/, '')) {
    case 'DT_FLOAT': case 'DT_DOUBLE': case 'DT_HALF': case 'DT_BFLOAT16': return 'float32';
    case 'DT_INT32': case 'DT_INT64': case 'DT_INT16': case 'DT_INT8': case 'DT_UINT8': case 'DT_UINT16': case 'DT_UINT32': return 'int32';
    case 'DT_BOOL': return 'bool';
    case 'DT_STRING': return 'string';
    default: return undefined;
  }
}

/** A constant's value as TF.js will hold it. */
export interface ConstValue {
  dtype: JsDtype;
  shape: number[];
  values: Float32Array | Int32Array | Uint8Array | Uint8Array[];
}

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
const clampInt = (v: number): number => (v < INT32_MIN ? INT32_MIN : v > INT32_MAX ? INT32_MAX : v);

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/** Decodes little-endian raw bytes (TensorProto.tensor_content or a checkpoint entry). */
export function fromRawBytes(tfDtype: string, shape: number[], raw: Uint8Array, what: string): ConstValue {
  const dtype = jsDtype(tfDtype);
  if (!dtype || dtype === 'string') throw new Error(`${what}: dtype ${tfDtype} is not supported`);
  const count = shape.reduce((a, b) => a * b, 1);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const base = tfDtype.replace(/_REF$/, '');
  const width: Record<string, number> = {
    DT_FLOAT: 4, DT_DOUBLE: 8, DT_HALF: 2, DT_BFLOAT16: 2, DT_INT32: 4, DT_INT64: 8, DT_INT16: 2, DT_INT8: 1,
    DT_UINT8: 1, DT_UINT16: 2, DT_UINT32: 4, DT_BOOL: 1,
  };
  const w = width[base]!;
  if (raw.length !== count * w) throw new Error(`${what}: ${raw.length} bytes do not hold ${count} ${tfDtype} values`);
  const get = (i: number): number => {
    const o = i * w;
    switch (base) {
      case 'DT_FLOAT': return view.getFloat32(o, true);
      case 'DT_DOUBLE': return view.getFloat64(o, true);
      case 'DT_HALF': return halfToFloat(view.getUint16(o, true));
      case 'DT_BFLOAT16': return new Float32Array(new Uint32Array([view.getUint16(o, true) << 16]).buffer)[0]!;
      case 'DT_INT32': return view.getInt32(o, true);
      case 'DT_INT64': return clampInt(Number(view.getBigInt64(o, true)));
      case 'DT_INT16': return view.getInt16(o, true);
      case 'DT_INT8': return view.getInt8(o);
      case 'DT_UINT8': case 'DT_BOOL': return view.getUint8(o);
      case 'DT_UINT16': return view.getUint16(o, true);
      default: return clampInt(view.getUint32(o, true));
    }
  };
  const values = dtype === 'float32' ? new Float32Array(count) : dtype === 'int32' ? new Int32Array(count) : new Uint8Array(count);
  for (let i = 0; i < count; i++) values[i] = get(i);
  return { dtype, shape, values };
}

/** Decodes a TensorProto (content bytes or the typed *_val fields, a single value filling the shape). */
export function fromTensorProto(t: TensorProtoMsg, what: string): ConstValue {
  const tfDtype = dtypeName(t.dtype);
  const shape = shapeDims(t.tensor_shape) ?? [];
  const dtype = jsDtype(tfDtype);
  if (!dtype) throw new Error(`${what}: dtype ${tfDtype} is not supported by TensorFlow.js`);
  const count = shape.reduce((a, b) => a * b, 1);
  if (dtype === 'string') {
    const vals = t.string_val ?? [];
    const out: Uint8Array[] = [];
    for (let i = 0; i < count; i++) out.push(vals[Math.min(i, vals.length - 1)] ?? new Uint8Array(0));
    return { dtype, shape, values: out };
  }
  if (t.tensor_content && t.tensor_content.length > 0) return fromRawBytes(tfDtype, shape, t.tensor_content, what);
  const base = tfDtype.replace(/_REF$/, '');
  let src: number[];
  switch (base) {
    case 'DT_FLOAT': src = t.float_val ?? []; break;
    case 'DT_DOUBLE': src = t.double_val ?? []; break;
    case 'DT_HALF': case 'DT_BFLOAT16': src = (t.half_val ?? []).map((h) => (base === 'DT_HALF' ? halfToFloat(h) : new Float32Array(new Uint32Array([h << 16]).buffer)[0]!)); break;
    case 'DT_INT64': src = (t.int64_val ?? []).map((v) => clampInt(num(v))); break;
    case 'DT_UINT32': src = (t.uint32_val ?? []).map(clampInt); break;
    case 'DT_BOOL': src = (t.bool_val ?? []).map((b) => (b ? 1 : 0)); break;
    default: src = t.int_val ?? [];
  }
  const values = dtype === 'float32' ? new Float32Array(count) : dtype === 'int32' ? new Int32Array(count) : new Uint8Array(count);
  if (src.length > 0) for (let i = 0; i < count; i++) values[i] = src[Math.min(i, src.length - 1)]!;
  return { dtype, shape, values };
}

/** TF.js weight bytes for a value (strings: a uint32 length before each element). */
export function weightBytes(v: ConstValue): Uint8Array {
  if (v.dtype === 'string') {
    const parts = v.values as Uint8Array[];
    const out = new Uint8Array(parts.reduce((n, p) => n + 4 + p.length, 0));
    const dv = new DataView(out.buffer);
    let o = 0;
    for (const p of parts) {
      dv.setUint32(o, p.length, true);
      out.set(p, o + 4);
      o += 4 + p.length;
    }
    return out;
  }
  const a = v.values as Float32Array | Int32Array | Uint8Array;
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}
