/** Open Inference Protocol tensor datatypes and their in-memory representation. */

export const DATATYPES = [
  'BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64',
  'FP16', 'FP32', 'FP64', 'BYTES',
] as const;
export type Datatype = (typeof DATATYPES)[number];

export type NumericArray =
  | Uint8Array | Uint16Array | Uint32Array | BigUint64Array
  | Int8Array | Int16Array | Int32Array | BigInt64Array
  | Float32Array | Float64Array;

/**
 * Tensor contents. Numeric types use the typed array of their width (BOOL is 0/1
 * bytes, FP16 holds raw IEEE half bits); BYTES holds one byte string per element.
 */
export type TensorData = NumericArray | Uint8Array[];

type TypedArrayCtor = {
  new (length: number): NumericArray;
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): NumericArray;
  readonly BYTES_PER_ELEMENT: number;
};

const CTORS: Record<Exclude<Datatype, 'BYTES'>, TypedArrayCtor> = {
  BOOL: Uint8Array, UINT8: Uint8Array, UINT16: Uint16Array, UINT32: Uint32Array, UINT64: BigUint64Array,
  INT8: Int8Array, INT16: Int16Array, INT32: Int32Array, INT64: BigInt64Array,
  FP16: Uint16Array, FP32: Float32Array, FP64: Float64Array,
};

export function isDatatype(value: unknown): value is Datatype {
  return typeof value === 'string' && (DATATYPES as readonly string[]).includes(value);
}

export function typedArrayCtor(dt: Exclude<Datatype, 'BYTES'>): TypedArrayCtor {
  return CTORS[dt];
}

/** Bytes per element, or undefined for BYTES (variable length). */
export function elementSize(dt: Datatype): number | undefined {
  return dt === 'BYTES' ? undefined : CTORS[dt].BYTES_PER_ELEMENT;
}

export function isBigIntType(dt: Datatype): dt is 'INT64' | 'UINT64' {
  return dt === 'INT64' || dt === 'UINT64';
}

export function isIntegerType(dt: Datatype): boolean {
  return dt.startsWith('INT') || dt.startsWith('UINT');
}

/** Inclusive integer range of each integer type, as bigint to cover 64-bit ones. */
export const INTEGER_RANGE: Record<string, readonly [bigint, bigint]> = {
  UINT8: [0n, 255n], UINT16: [0n, 65535n], UINT32: [0n, 4294967295n], UINT64: [0n, 18446744073709551615n],
  INT8: [-128n, 127n], INT16: [-32768n, 32767n], INT32: [-2147483648n, 2147483647n],
  INT64: [-9223372036854775808n, 9223372036854775807n],
};

/** Allocates a zeroed array for `count` elements of `dt`. */
export function allocate(dt: Datatype, count: number): TensorData {
  if (dt === 'BYTES') return new Array<Uint8Array>(count).fill(new Uint8Array(0));
  return new CTORS[dt](count);
}

/**
 * Views little-endian raw bytes as a typed array. Copies when the offset is not
 * aligned for the element size (typed arrays require alignment).
 */
export function fromRawBytes(dt: Exclude<Datatype, 'BYTES'>, bytes: Uint8Array): NumericArray {
  const ctor = CTORS[dt];
  const size = ctor.BYTES_PER_ELEMENT;
  const count = bytes.byteLength / size;
  if (bytes.byteOffset % size === 0) return new ctor(bytes.buffer, bytes.byteOffset, count);
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return new ctor(copy.buffer, 0, count);
}

export function toRawBytes(data: NumericArray): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

// IEEE 754 half precision, for FP16 tensors given as JSON numbers.
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function floatToHalf(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >> shift;
    const rem = mant & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rem > halfway || (rem === halfway && (half & 1))) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1))) half++;
  return sign | half;
}

export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}
