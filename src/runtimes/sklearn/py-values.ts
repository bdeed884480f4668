/**
 * Plain-data stand-ins for what a pickle describes. Nothing here is ever called:
 * a Python object becomes its class name, constructor arguments and state.
 */
import { InferdError } from '../../api/errors.js';
import type { DType, NdArray } from './ndarray.js';

export type PyVal =
  | null | boolean | number | bigint | string | Uint8Array
  | PyVal[] | PyDict | PyGlobal | PyObject | PySet | PySlice | NdArray | DType;

/** A Python dict; keys are primitives (strings in every estimator state). */
export class PyDict {
  readonly map = new Map<unknown, PyVal>();
  get(key: string): PyVal | undefined {
    return this.map.get(key);
  }
  has(key: string): boolean {
    return this.map.has(key);
  }
}

/** A resolved (allow-listed) `module.name` reference. */
export class PyGlobal {
  constructor(readonly module: string, readonly name: string) {}
  get full(): string {
    return `${this.module}.${this.name}`;
  }
}

/** An instance of an allow-listed class, kept as data: never constructed. */
export class PyObject {
  /** Merged `__dict__` state (BUILD with a dict, or the dict half of a (dict, slots) pair). */
  readonly dict = new PyDict();
  /** Raw BUILD state when it is not a dict (Cython and extension types). */
  state: PyVal | undefined;
  constructor(readonly cls: string, readonly args: readonly PyVal[]) {}
  /** Short class name, e.g. `LogisticRegression`. */
  get shortName(): string {
    const i = this.cls.lastIndexOf('.');
    return i < 0 ? this.cls : this.cls.slice(i + 1);
  }
}

export class PySet {
  constructor(readonly items: PyVal[], readonly frozen: boolean) {}
}

export class PySlice {
  constructor(readonly start: PyVal, readonly stop: PyVal, readonly step: PyVal) {}
}

export function bad(message: string): InferdError {
  return new InferdError('invalid_input', message);
}

/** A short human description of a value's Python type, for error messages. */
export function typeName(v: PyVal | undefined): string {
  if (v === undefined) return 'missing';
  if (v === null) return 'None';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number' || typeof v === 'bigint') return 'number';
  if (typeof v === 'string') return 'str';
  if (v instanceof Uint8Array) return 'bytes';
  if (Array.isArray(v)) return 'list/tuple';
  if (v instanceof PyDict) return 'dict';
  if (v instanceof PyGlobal) return v.full;
  if (v instanceof PyObject) return v.cls;
  if (v instanceof PySet) return 'set';
  if (v instanceof PySlice) return 'slice';
  return v.constructor.name === 'NdArray' ? 'numpy.ndarray' : 'numpy.dtype';
}
