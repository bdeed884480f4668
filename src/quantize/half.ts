/**
 * IEEE 754 binary16 conversion (round to nearest, ties to even), for FP16 initializers
 * and for reading FP16 outputs back. Node 20 has no Float16Array, so halves are Uint16.
 */
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The largest finite half. */
export const HALF_MAX = 65504;

export function floatToHalf(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && (half & 1) === 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  // A carry out of the mantissa correctly bumps the exponent (up to infinity).
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1) === 1)) half++;
  return sign | half;
}

export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** Converts to halves, clamping finite values beyond ±65504 (which would become ±inf); returns how many were clamped. */
export function toHalves(values: Float32Array): { halves: Uint16Array; clamped: number } {
  const halves = new Uint16Array(values.length);
  let clamped = 0;
  for (let i = 0; i < values.length; i++) {
    let v = values[i]!;
    if (Number.isFinite(v) && Math.abs(v) > HALF_MAX) {
      v = Math.sign(v) * HALF_MAX;
      clamped++;
    }
    halves[i] = floatToHalf(v);
  }
  return { halves, clamped };
}

export function fromHalves(halves: Uint16Array): Float32Array {
  const out = new Float32Array(halves.length);
  for (let i = 0; i < halves.length; i++) out[i] = halfToFloat(halves[i]!);
  return out;
}
