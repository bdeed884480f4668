import { invalidInput } from '../api/errors.js';
import {
  INTEGER_RANGE, allocate, floatToHalf, halfToFloat, isBigIntType, type Datatype, type NumericArray, type TensorData,
} from '../api/datatype.js';
import type { Tensor } from '../api/inference.js';
import { NestingCheck } from './nesting.js';

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

/**
 * Flattens row-major nested arrays (`[[1,2],[3,4]]`) or passes a flat one through.
 * Depth is bounded by `maxDepth` so hostile nesting cannot blow the stack; ragged rows are refused.
 */
export function flatten(data: unknown, maxDepth: number, field: string): unknown[] {
  if (!Array.isArray(data)) throw invalidInput(`${field}: expected an array`, field);
  if (data.length === 0 || !Array.isArray(data[0])) return data;
  const out: unknown[] = [];
  const nesting = new NestingCheck(field);
  const walk = (arr: unknown[], depth: number): void => {
    if (depth > maxDepth) throw invalidInput(`${field}: nested deeper than the tensor's rank`, field);
    nesting.array(depth - 1, arr.length);
    for (const v of arr) {
      if (Array.isArray(v)) walk(v, depth + 1);
      else {
        nesting.leaf(depth);
        out.push(v);
      }
    }
  };
  walk(data, 1);
  return out;
}

/** Converts flat JSON values to the typed representation of `datatype`, checking every element. */
export function fromValues(datatype: Datatype, values: ArrayLike<unknown>, field: string): TensorData {
  const n = values.length;
  const bad = (i: number, what: string) =>
    invalidInput(`${field}: element ${i} is ${JSON.stringify(values[i])?.slice(0, 40) ?? typeof values[i]}, expected ${what} for ${datatype}`, field);
  switch (datatype) {
    case 'BYTES': {
      const out = new Array<Uint8Array>(n);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (typeof v !== 'string') throw bad(i, 'a string');
        out[i] = utf8.encode(v);
      }
      return out;
    }
    case 'BOOL': {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (typeof v !== 'boolean') throw bad(i, 'true or false');
        out[i] = v ? 1 : 0;
      }
      return out;
    }
    // JSON has no NaN: null is a missing value, as numpy reads None into a float array
    // (and as KServe's V1 already takes it); tree models route it as missing.
    case 'FP32': case 'FP64': {
      const out = allocate(datatype, n) as Float32Array | Float64Array;
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (typeof v !== 'number' && v !== null) throw bad(i, 'a number or null');
        out[i] = v ?? NaN;
      }
      return out;
    }
    case 'FP16': {
      const out = new Uint16Array(n);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (typeof v !== 'number' && v !== null) throw bad(i, 'a number or null');
        out[i] = floatToHalf(v ?? NaN);
      }
      return out;
    }
    default: {
      const [min, max] = INTEGER_RANGE[datatype]!;
      if (isBigIntType(datatype)) {
        const out = allocate(datatype, n) as BigInt64Array | BigUint64Array;
        for (let i = 0; i < n; i++) {
          const v = values[i];
          const b = typeof v === 'number' && Number.isInteger(v) ? BigInt(v) : typeof v === 'bigint' ? v : undefined;
          if (b === undefined) throw bad(i, 'an integer');
          if (b < min || b > max) throw bad(i, `an integer in [${min}, ${max}]`);
          out[i] = b;
        }
        return out;
      }
      const out = allocate(datatype, n) as Exclude<NumericArray, BigInt64Array | BigUint64Array>;
      const lo = Number(min);
      const hi = Number(max);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (typeof v !== 'number' || !Number.isInteger(v)) throw bad(i, 'an integer');
        if (v < lo || v > hi) throw bad(i, `an integer in [${lo}, ${hi}]`);
        out[i] = v;
      }
      return out;
    }
  }
}

/** Converts tensor contents to flat JSON values (BYTES as UTF-8 strings, BOOL as booleans). */
export function toValues(t: Pick<Tensor, 'datatype' | 'data'>): Array<number | boolean | string> {
  const d = t.data;
  switch (t.datatype) {
    case 'BYTES': return (d as Uint8Array[]).map((b) => utf8Decoder.decode(b));
    case 'BOOL': return Array.from(d as Uint8Array, (v) => v !== 0);
    case 'FP16': return Array.from(d as Uint16Array, halfToFloat);
    case 'INT64': case 'UINT64': return Array.from(d as BigInt64Array, Number);
    default: return Array.from(d as Float32Array);
  }
}

/** Reshapes flat values into nested arrays following `shape` (V1 predictions, TF Serving). */
export function nest<T>(flat: readonly T[], shape: readonly number[]): unknown {
  if (shape.length <= 1) return shape.length === 0 ? flat[0] : flat;
  const [, ...rest] = shape;
  const stride = rest.reduce((a, b) => a * b, 1);
  const out: unknown[] = [];
  for (let i = 0; i < shape[0]!; i++) out.push(nest(flat.slice(i * stride, (i + 1) * stride), rest));
  return out;
}
