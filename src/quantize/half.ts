/**
 * Whole-array FP16 conversion for initializers and outputs, over the shared
 * scalar conversions (round to nearest, ties to even). Node 20 has no Float16Array.
 */
import { floatToHalf, halfToFloat } from '../api/datatype.js';

export { floatToHalf, halfToFloat };

/** The largest finite half. */
export const HALF_MAX = 65504;

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
