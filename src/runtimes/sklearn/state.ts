/** Typed access to a pickled estimator's attributes, with errors that name what is wrong. */
import { NdArray } from './ndarray.js';
import { bad, PyObject, typeName, type PyVal } from './py-values.js';

export function attr(o: PyObject, key: string): PyVal | undefined {
  return o.dict.get(key);
}

function wrong(o: PyObject, key: string, want: string): Error {
  return bad(`${o.shortName}.${key} should be ${want}, found ${typeName(attr(o, key))}`);
}

export function num(o: PyObject, key: string): number {
  const v = attr(o, key);
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (v instanceof NdArray && v.size === 1 && v.dtype.kind !== 'O') return v.numbers()[0]!;
  throw wrong(o, key, 'a number');
}

export function optNum(o: PyObject, key: string): number | undefined {
  const v = attr(o, key);
  return v === undefined || v === null ? undefined : num(o, key);
}

export function str(o: PyObject, key: string): string {
  const v = attr(o, key);
  if (typeof v !== 'string') throw wrong(o, key, 'a string');
  return v;
}

export function optStr(o: PyObject, key: string): string | undefined {
  const v = attr(o, key);
  return typeof v === 'string' ? v : undefined;
}

export function bool(o: PyObject, key: string, dflt: boolean): boolean {
  const v = attr(o, key);
  if (v === undefined || v === null) return dflt;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  throw wrong(o, key, 'a boolean');
}

export function arr(o: PyObject, key: string): NdArray {
  const v = attr(o, key);
  if (v instanceof NdArray) return v;
  throw wrong(o, key, 'a numpy array');
}

export function optArr(o: PyObject, key: string): NdArray | undefined {
  const v = attr(o, key);
  return v instanceof NdArray ? v : undefined;
}

/** A float array attribute; a Python number becomes a one-element array. */
export function floats(o: PyObject, key: string): Float64Array {
  const v = attr(o, key);
  if (typeof v === 'number') return Float64Array.of(v);
  return arr(o, key).numbers();
}

export function list(o: PyObject, key: string): PyVal[] {
  const v = attr(o, key);
  if (Array.isArray(v)) return v;
  if (v instanceof NdArray && v.objects) return v.objects;
  throw wrong(o, key, 'a list');
}

export function obj(o: PyObject, key: string): PyObject {
  const v = attr(o, key);
  if (v instanceof PyObject) return v;
  throw wrong(o, key, 'an object');
}

/** Class labels from `classes_`: their JSON/V2 kind and values. */
export interface Labels {
  kind: 'int' | 'float' | 'bool' | 'string';
  values: (number | string)[];
}

export function labels(o: PyObject, key = 'classes_'): Labels {
  const a = arr(o, key);
  if (a.ndim !== 1) throw bad(`${o.shortName}.${key} must be one-dimensional (multi-output classifiers are not supported)`);
  const k = a.dtype.kind;
  if (k === 'i' || k === 'u') return { kind: 'int', values: Array.from(a.numbers()) };
  if (k === 'b') return { kind: 'bool', values: Array.from(a.numbers()) };
  if (k === 'f') return { kind: 'float', values: Array.from(a.numbers()) };
  const vals = a.values();
  if (vals.every((v) => typeof v === 'string')) return { kind: 'string', values: vals as string[] };
  if (vals.every((v) => typeof v === 'number' && Number.isInteger(v))) return { kind: 'int', values: vals as number[] };
  if (vals.every((v) => typeof v === 'number')) return { kind: 'float', values: vals as number[] };
  if (vals.every((v) => typeof v === 'boolean')) return { kind: 'bool', values: vals.map((v) => (v ? 1 : 0)) };
  throw bad(`${o.shortName}.${key} holds labels of mixed or unsupported types`);
}
