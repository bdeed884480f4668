/** Row-major input batches and the numeric kernels that must match numpy's order of operations. */
import { bad } from './py-values.js';

/** A cell of a mixed (object) batch: a number, a string, or null for missing. */
export type Cell = number | string | null;

export interface NumMatrix {
  readonly kind: 'num';
  readonly rows: number;
  readonly cols: number;
  readonly data: Float64Array;
  /**
   * The request sent integers (or booleans): sklearn keeps such an array integer
   * (`check_array(dtype="numeric")`), which sends brute-force k-NN down another path.
   */
  readonly integer?: boolean;
}

export interface ObjMatrix {
  readonly kind: 'obj';
  readonly rows: number;
  readonly cols: number;
  readonly data: Cell[];
}

export type Matrix = NumMatrix | ObjMatrix;

export function numMatrix(rows: number, cols: number, data: Float64Array = new Float64Array(rows * cols)): NumMatrix {
  return { kind: 'num', rows, cols, data };
}

export function cellNumber(c: Cell): number {
  if (c === null) return NaN;
  if (typeof c === 'number') return c;
  const t = c.trim();
  if (t === '' || /^[+-]?nan$/i.test(t)) return NaN;
  if (/^[+-]?inf(inity)?$/i.test(t)) return t.startsWith('-') ? -Infinity : Infinity;
  const n = Number(t);
  return Number.isNaN(n) ? NaN : n;
}

function isNumeric(c: Cell): boolean {
  if (c === null || typeof c === 'number') return true;
  return !Number.isNaN(cellNumber(c)) || /^\s*[+-]?nan\s*$/i.test(c) || c.trim() === '';
}

/** The batch as float64; strings must parse as numbers. Errors name the row and column. */
export function asNum(x: Matrix, who: string): NumMatrix {
  if (x.kind === 'num') return x;
  const out = new Float64Array(x.rows * x.cols);
  for (let i = 0; i < out.length; i++) {
    const c = x.data[i]!;
    if (!isNumeric(c)) {
      const row = Math.floor(i / x.cols);
      throw bad(`row ${row}: column ${i % x.cols} is "${String(c).slice(0, 40)}" but ${who} needs a number there`);
    }
    out[i] = cellNumber(c);
  }
  return numMatrix(x.rows, x.cols, out);
}

export function checkWidth(x: Matrix, n: number, who: string): void {
  if (n >= 0 && x.cols !== n) throw bad(`${who} expects ${n} features per row, got ${x.cols}`);
}

/** numpy's pairwise summation (add.reduce over a contiguous run), for exact agreement. */
export function npSum(a: ArrayLike<number>, off: number, n: number): number {
  if (n < 8) {
    let res = 0;
    for (let i = 0; i < n; i++) res += a[off + i]!;
    return res;
  }
  if (n <= 128) {
    let r0 = a[off]!, r1 = a[off + 1]!, r2 = a[off + 2]!, r3 = a[off + 3]!;
    let r4 = a[off + 4]!, r5 = a[off + 5]!, r6 = a[off + 6]!, r7 = a[off + 7]!;
    let i = 8;
    for (; i < n - (n % 8); i += 8) {
      r0 += a[off + i]!; r1 += a[off + i + 1]!; r2 += a[off + i + 2]!; r3 += a[off + i + 3]!;
      r4 += a[off + i + 4]!; r5 += a[off + i + 5]!; r6 += a[off + i + 6]!; r7 += a[off + i + 7]!;
    }
    let res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7));
    for (; i < n; i++) res += a[off + i]!;
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return npSum(a, off, n2) + npSum(a, off + n2, n - n2);
}

export function expit(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** sklearn.utils.extmath.softmax over each row of `k` columns, in place. */
export function softmaxRows(p: Float64Array, rows: number, k: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * k;
    let max = -Infinity;
    for (let j = 0; j < k; j++) if (p[o + j]! > max) max = p[o + j]!;
    for (let j = 0; j < k; j++) p[o + j] = Math.exp(p[o + j]! - max);
    const s = npSum(p, o, k);
    for (let j = 0; j < k; j++) p[o + j] = p[o + j]! / s;
  }
}

/** scipy.special.logsumexp of one row. */
export function logsumexp(a: ArrayLike<number>, off: number, k: number, tmp: Float64Array): number {
  let max = -Infinity;
  for (let j = 0; j < k; j++) if (a[off + j]! > max) max = a[off + j]!;
  if (!Number.isFinite(max)) max = 0;
  for (let j = 0; j < k; j++) tmp[j] = Math.exp(a[off + j]! - max);
  return Math.log(npSum(tmp, 0, k)) + max;
}

/** First index of the largest value in a row (numpy argmax; NaN wins like numpy). */
export function argmax(a: ArrayLike<number>, off: number, k: number): number {
  let best = 0;
  let v = a[off]!;
  if (Number.isNaN(v)) return 0;
  for (let j = 1; j < k; j++) {
    const x = a[off + j]!;
    if (Number.isNaN(x)) return j;
    if (x > v) { v = x; best = j; }
  }
  return best;
}

/** Divides each row by its (numpy) sum; a zero sum leaves the row as is when `keepZero`. */
export function normalizeRows(p: Float64Array, rows: number, k: number, keepZero: boolean): void {
  for (let r = 0; r < rows; r++) {
    let s = npSum(p, r * k, k);
    if (keepZero && s === 0) s = 1;
    for (let j = 0; j < k; j++) p[r * k + j] = p[r * k + j]! / s;
  }
}
