/** Request batches in (V2 tensors, V1 JSON rows) and labels/values out. */
import type { Tensor } from '../../api/inference.js';
import type { NumericArray, TensorData } from '../../api/datatype.js';
import { invalidInput } from '../../api/errors.js';
import { bad } from './py-values.js';
import { numMatrix, type Cell, type Matrix } from './matrix.js';
import type { Labels } from './state.js';

const utf8 = new TextDecoder();
const toUtf8 = new TextEncoder();

/** A V2 input tensor of shape [n, nIn] (or [nIn] for one row) as a batch. */
export function fromTensor(t: Tensor, nIn: number): Matrix {
  const shape = t.shape;
  if (shape.length !== 2 && shape.length !== 1) throw bad(`input "${t.name}" must have shape [rows, features], got [${shape.join(', ')}]`);
  const rows = shape.length === 2 ? shape[0]! : 1;
  const cols = shape.length === 2 ? shape[1]! : shape[0]!;
  if (nIn >= 0 && cols !== nIn) throw bad(`input "${t.name}" has ${cols} features per row; the model expects ${nIn}`);
  if (t.datatype === 'BYTES') {
    const data = t.data as Uint8Array[];
    const cells: Cell[] = new Array<Cell>(rows * cols);
    for (let i = 0; i < cells.length; i++) {
      const s = utf8.decode(data[i] ?? new Uint8Array(0));
      cells[i] = s === '' ? null : s;
    }
    return { kind: 'obj', rows, cols, data: cells };
  }
  const d = t.data as NumericArray;
  if (d instanceof Float64Array) return numMatrix(rows, cols, d);
  const out = new Float64Array(rows * cols);
  if (d instanceof BigInt64Array || d instanceof BigUint64Array) for (let i = 0; i < out.length; i++) out[i] = Number(d[i]!);
  else if (t.datatype === 'FP16') throw bad(`input "${t.name}": FP16 is not accepted; send FP64 or FP32`);
  else for (let i = 0; i < out.length; i++) out[i] = (d as Exclude<NumericArray, BigInt64Array | BigUint64Array>)[i]!;
  return { ...numMatrix(rows, cols, out), integer: true };
}

/** V1 `instances` / `inputs` rows as a batch; errors name the row. */
export function fromV1(body: unknown, nIn: number, strings: boolean): Matrix {
  const b = body as Record<string, unknown> | null;
  const key = b && typeof b === 'object' ? (Array.isArray(b.instances) ? 'instances' : Array.isArray(b.inputs) ? 'inputs' : null) : null;
  if (!key) throw bad('V1 request body must be {"instances": [[...], ...]} or {"inputs": [[...], ...]}');
  const rows = b![key] as unknown[];
  const cols = nIn >= 0 ? nIn : Array.isArray(rows[0]) ? (rows[0] as unknown[]).length : 0;
  const cells: Cell[] = new Array<Cell>(rows.length * cols);
  let numeric = !strings;
  rows.forEach((row, r) => {
    if (!Array.isArray(row)) throw invalidInput(`${key}[${r}] must be a list of ${cols} feature values`, `${key}[${r}]`);
    if (row.length !== cols) throw invalidInput(`${key}[${r}] has ${row.length} values; the model expects ${cols}`, `${key}[${r}]`);
    row.forEach((v: unknown, j) => {
      let c: Cell;
      if (typeof v === 'number' || v === null) c = v;
      else if (typeof v === 'boolean') c = v ? 1 : 0;
      else if (typeof v === 'string') { c = v; numeric = false; }
      else throw invalidInput(`${key}[${r}][${j}] is ${Array.isArray(v) ? 'a list' : typeof v}; expected a number${strings ? ', string' : ''} or null`, `${key}[${r}][${j}]`);
      cells[r * cols + j] = c;
    });
  });
  if (numeric) {
    const out = new Float64Array(cells.length);
    for (let i = 0; i < cells.length; i++) out[i] = cells[i] === null ? NaN : (cells[i] as number);
    return numMatrix(rows.length, cols, out);
  }
  return { kind: 'obj', rows: rows.length, cols, data: cells };
}

export function labelDatatype(l: Labels): 'INT64' | 'FP64' | 'BOOL' | 'BYTES' {
  return l.kind === 'int' ? 'INT64' : l.kind === 'float' ? 'FP64' : l.kind === 'bool' ? 'BOOL' : 'BYTES';
}

export function labelTensorData(idx: Int32Array, l: Labels): TensorData {
  const v = l.values;
  switch (l.kind) {
    case 'int': return BigInt64Array.from(idx, (i) => BigInt(v[i] as number));
    case 'float': return Float64Array.from(idx, (i) => v[i] as number);
    case 'bool': return Uint8Array.from(idx, (i) => (v[i] ? 1 : 0));
    default: return Array.from(idx, (i) => toUtf8.encode(String(v[i])));
  }
}

export function labelJson(idx: Int32Array, l: Labels): (number | string | boolean)[] {
  return Array.from(idx, (i) => (l.kind === 'bool' ? l.values[i] === 1 : l.values[i]!));
}

/** Row-major values as nested JSON rows (or a flat list when `flat`). */
export function rowsJson(data: Float64Array, cols: number, flat: boolean): (number | null)[] | (number | null)[][] {
  const num = (x: number): number | null => (Number.isFinite(x) ? x : null);
  if (flat) return Array.from(data, num);
  const out: (number | null)[][] = [];
  for (let r = 0; r * cols < data.length; r++) out.push(Array.from(data.subarray(r * cols, (r + 1) * cols), num));
  return out;
}
