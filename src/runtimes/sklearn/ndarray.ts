/** numpy dtypes and arrays rebuilt from their pickled state, without numpy. */
import { halfToFloat } from '../../api/datatype.js';
import { checkedProduct, DecodeBudget } from '../decode-budget.js';
import { bad, PyDict, type PyVal } from './py-values.js';

export interface DField {
  name: string;
  dtype: DType;
  offset: number;
}

const KINDS = new Set(['f', 'i', 'u', 'b', 'O', 'U', 'S', 'V']);

export class DType {
  byteorder: string = '=';
  fields: DField[] | null = null;

  constructor(readonly kind: string, public itemsize: number, readonly str: string) {}

  /** `numpy.dtype(typestr, align, copy)` as pickled: 'f8', 'i4', 'b1', 'O8', 'U6', 'S3', 'V56'. */
  static parse(typestr: string): DType {
    const m = /^([<>|=]?)([a-zA-Z])(\d*)$/.exec(typestr);
    if (!m) throw bad(`unsupported numpy dtype "${typestr.slice(0, 40)}"`);
    const kind = m[2]!;
    if (!KINDS.has(kind)) throw bad(`unsupported numpy dtype "${typestr}" (kind ${kind})`);
    let size = m[3] ? Number(m[3]) : kind === 'b' ? 1 : 8;
    if (kind === 'U') size *= 4;
    if (kind === 'O') size = 8;
    if (!(size >= 0 && size <= 1 << 20)) throw bad(`numpy dtype "${typestr}" has an unreasonable item size`);
    if (kind === 'f' && size !== 2 && size !== 4 && size !== 8) throw bad(`unsupported float dtype "${typestr}"`);
    if ((kind === 'i' || kind === 'u') && ![1, 2, 4, 8].includes(size)) throw bad(`unsupported integer dtype "${typestr}"`);
    const t = new DType(kind, size, typestr);
    if (m[1]) t.byteorder = m[1];
    return t;
  }

  /** BUILD state: (version, byteorder, subarray, names, fields, elsize, alignment, flags[, metadata]). */
  setState(state: PyVal): void {
    if (!Array.isArray(state) || state.length < 8) throw bad('malformed numpy dtype state');
    const [, order, subarray, names, fields, elsize] = state;
    if (typeof order === 'string') this.byteorder = order;
    if (subarray !== null && subarray !== undefined) throw bad('numpy sub-array dtypes are not supported');
    if (typeof elsize === 'number' && elsize > 0 && (this.kind === 'U' || this.kind === 'S' || this.kind === 'V')) {
      this.itemsize = elsize;
    }
    if (names !== null && names !== undefined) {
      if (!Array.isArray(names) || !(fields instanceof PyDict)) throw bad('malformed structured numpy dtype');
      this.fields = names.map((n) => {
        const f = typeof n === 'string' ? fields.get(n) : undefined;
        if (!Array.isArray(f) || !(f[0] instanceof DType) || typeof f[1] !== 'number') throw bad('malformed structured numpy dtype field');
        if (f[0].fields || f[0].kind === 'O' || f[1] < 0 || f[1] + f[0].itemsize > this.itemsize) throw bad('unsupported structured numpy dtype field');
        return { name: n as string, dtype: f[0], offset: f[1] };
      });
    }
  }

  get littleEndian(): boolean {
    return this.byteorder !== '>';
  }
}

/** Reads element `i` of a numeric dtype from a DataView at byte offset `off`. */
function readNumber(view: DataView, off: number, dt: DType): number {
  const le = dt.littleEndian;
  switch (dt.kind) {
    case 'f':
      if (dt.itemsize === 8) return view.getFloat64(off, le);
      if (dt.itemsize === 4) return view.getFloat32(off, le);
      return halfToFloat(view.getUint16(off, le));
    case 'i':
      switch (dt.itemsize) {
        case 1: return view.getInt8(off);
        case 2: return view.getInt16(off, le);
        case 4: return view.getInt32(off, le);
        default: return Number(view.getBigInt64(off, le));
      }
    case 'u':
      switch (dt.itemsize) {
        case 1: return view.getUint8(off);
        case 2: return view.getUint16(off, le);
        case 4: return view.getUint32(off, le);
        default: return Number(view.getBigUint64(off, le));
      }
    case 'b':
      return view.getUint8(off) ? 1 : 0;
    default:
      throw bad(`numpy dtype ${dt.str} is not numeric`);
  }
}

const latin1 = new TextDecoder('latin1');

export class NdArray {
  /** Raw bytes in the array's own memory order (C or Fortran), for non-object dtypes. */
  raw: Uint8Array | null = null;
  /** Elements in C order, for object dtype. */
  objects: PyVal[] | null = null;
  fortran = false;

  /** Charged for every expansion into JS structures: a memo-shared array pays each time it is built on. */
  constructor(public dtype: DType, public shape: number[], readonly budget: DecodeBudget = new DecodeBudget()) {}

  get size(): number {
    return checkedProduct(this.shape);
  }

  /** Reserves the bytes of an expansion of this array (`perElement` bytes each), before it is allocated. */
  charge(perElement: number, what = 'numpy array'): void {
    this.budget.charge(this.size * perElement, `${what} of ${this.size > 1e15 ? 'astronomically many' : this.size} elements`);
  }

  get ndim(): number {
    return this.shape.length;
  }

  /** C-order position → memory position, for Fortran-ordered arrays. */
  private memIndex(i: number): number {
    if (!this.fortran || this.shape.length < 2) return i;
    let rem = i;
    let mem = 0;
    let stride = 1;
    const idx: number[] = new Array<number>(this.shape.length);
    for (let d = this.shape.length - 1; d >= 0; d--) {
      const n = this.shape[d]!;
      idx[d] = rem % n;
      rem = Math.floor(rem / n);
    }
    for (let d = 0; d < this.shape.length; d++) {
      mem += idx[d]! * stride;
      stride *= this.shape[d]!;
    }
    return mem;
  }

  private view(): DataView {
    const r = this.raw;
    if (!r) throw bad('numpy array has no data');
    return new DataView(r.buffer, r.byteOffset, r.byteLength);
  }

  /** Elements as float64 in C order (ints and bools converted). */
  numbers(): Float64Array {
    this.charge(8);
    const n = this.size;
    const out = new Float64Array(n);
    if (this.objects) {
      for (let i = 0; i < n; i++) {
        const v = this.objects[i];
        if (typeof v === 'number') out[i] = v;
        else if (typeof v === 'boolean') out[i] = v ? 1 : 0;
        else if (typeof v === 'bigint') out[i] = Number(v);
        else if (v === null) out[i] = NaN;
        else throw bad('numpy object array holds non-numbers where numbers are needed');
      }
      return out;
    }
    const view = this.view();
    const size = this.dtype.itemsize;
    for (let i = 0; i < n; i++) out[i] = readNumber(view, this.memIndex(i) * size, this.dtype);
    return out;
  }

  /** One field of a structured array, as float64. */
  field(name: string): Float64Array {
    const f = this.dtype.fields?.find((x) => x.name === name);
    if (!f) throw bad(`numpy structured array has no field "${name}"`);
    this.charge(8);
    const n = this.size;
    const out = new Float64Array(n);
    const view = this.view();
    for (let i = 0; i < n; i++) out[i] = readNumber(view, this.memIndex(i) * this.dtype.itemsize + f.offset, f.dtype);
    return out;
  }

  hasField(name: string): boolean {
    return this.dtype.fields?.some((x) => x.name === name) ?? false;
  }

  /** Elements as JS values in C order: numbers, strings, or pickled objects. */
  values(): PyVal[] {
    // A JS array slot plus a small string or number: 16 bytes is a floor, even for a zero-size dtype.
    this.charge(16);
    if (this.objects) return this.objects.slice();
    const k = this.dtype.kind;
    if (k === 'U' || k === 'S') {
      const out: PyVal[] = [];
      const r = this.raw!;
      const size = this.dtype.itemsize;
      for (let i = 0; i < this.size; i++) {
        const at = r.subarray(this.memIndex(i) * size, (this.memIndex(i) + 1) * size);
        out.push(k === 'S' ? latin1.decode(at).replace(/\0+$/, '') : ucs4(at, this.dtype.littleEndian));
      }
      return out;
    }
    return Array.from(this.numbers());
  }
}

function ucs4(bytes: Uint8Array, le: boolean): string {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let s = '';
  for (let i = 0; i + 4 <= bytes.byteLength; i += 4) {
    const c = view.getUint32(i, le);
    if (c === 0) break;
    if (c > 0x10ffff) throw bad('numpy unicode array holds an invalid code point');
    s += String.fromCodePoint(c);
  }
  return s;
}

/** Validates a pickled shape and returns it with its element count. */
export function checkShape(shape: PyVal, maxElements: number): number[] {
  const dims = typeof shape === 'number' ? [shape] : shape;
  if (!Array.isArray(dims) || dims.length > 32) throw bad('malformed numpy array shape');
  const out: number[] = [];
  for (const d of dims) {
    const v = typeof d === 'bigint' ? Number(d) : d;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw bad('malformed numpy array shape');
    out.push(v);
  }
  const n = checkedProduct(out, maxElements);
  if (n > maxElements) throw bad(`numpy array of ${n === Infinity ? 'astronomically many' : n} elements exceeds the limit of ${maxElements}`);
  return out;
}

/** Applies ndarray BUILD state (version, shape, dtype, is_fortran, rawdata). */
export function setArrayState(arr: NdArray, state: PyVal, maxElements: number): void {
  if (!Array.isArray(state) || (state.length !== 5 && state.length !== 4)) throw bad('malformed numpy array state');
  const s = state.length === 5 ? state.slice(1) : state;
  const [shape, dtype, fortran, data] = s;
  if (!(dtype instanceof DType)) throw bad('malformed numpy array state: no dtype');
  arr.dtype = dtype;
  arr.shape = checkShape(shape ?? null, maxElements);
  arr.fortran = fortran === true || fortran === 1;
  fillArray(arr, data ?? null);
}

export function fillArray(arr: NdArray, data: PyVal): void {
  const n = arr.size;
  if (arr.dtype.kind === 'O') {
    if (!Array.isArray(data) || data.length !== n) throw bad('numpy object array data does not match its shape');
    arr.objects = data;
    return;
  }
  if (arr.dtype.kind === 'V' && !arr.dtype.fields) throw bad('unsupported numpy void dtype');
  if (!(data instanceof Uint8Array)) throw bad('numpy array data is not bytes');
  if (data.byteLength !== n * arr.dtype.itemsize) {
    throw bad(`numpy array data holds ${data.byteLength} bytes, its shape and dtype need ${n * arr.dtype.itemsize}`);
  }
  arr.raw = data;
}
