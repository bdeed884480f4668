/** Scalers and SimpleImputer: column-wise transforms with sklearn's operation order. */
import type { Transformer } from './estimator.js';
import { asNum, cellNumber, checkWidth, numMatrix, type Cell, type Matrix } from './matrix.js';
import { bad, type PyObject } from './py-values.js';
import { arr, attr, bool, floats, num, optArr, str } from './state.js';

function columnwise(o: PyObject, nIn: number, f: (v: number, col: number) => number): Transformer {
  const name = o.shortName;
  return {
    kind: 'transformer', name, nIn, nOut: nIn, wantsStrings: false,
    transform(x) {
      checkWidth(x, nIn, name);
      const X = asNum(x, name);
      const out = new Float64Array(X.data.length);
      for (let i = 0; i < out.length; i++) out[i] = f(X.data[i]!, i % nIn);
      return numMatrix(X.rows, X.cols, out);
    },
  };
}

export function standardScaler(o: PyObject): Transformer {
  const nIn = num(o, 'n_features_in_');
  const mean = bool(o, 'with_mean', true) && optArr(o, 'mean_') ? floats(o, 'mean_') : null;
  const scale = bool(o, 'with_std', true) && optArr(o, 'scale_') ? floats(o, 'scale_') : null;
  return columnwise(o, nIn, (v, c) => {
    if (mean) v -= mean[c]!;
    if (scale) v /= scale[c]!;
    return v;
  });
}

export function minMaxScaler(o: PyObject): Transformer {
  const nIn = num(o, 'n_features_in_');
  const scale = floats(o, 'scale_');
  const min = floats(o, 'min_');
  const clip = bool(o, 'clip', false);
  const range = attr(o, 'feature_range');
  const [lo, hi] = Array.isArray(range) ? range.map(Number) : [0, 1];
  return columnwise(o, nIn, (v, c) => {
    v *= scale[c]!;
    v += min[c]!;
    return clip ? Math.min(Math.max(v, lo!), hi!) : v;
  });
}

export function robustScaler(o: PyObject): Transformer {
  const nIn = num(o, 'n_features_in_');
  const center = bool(o, 'with_centering', true) && optArr(o, 'center_') ? floats(o, 'center_') : null;
  const scale = bool(o, 'with_scaling', true) && optArr(o, 'scale_') ? floats(o, 'scale_') : null;
  return columnwise(o, nIn, (v, c) => {
    if (center) v -= center[c]!;
    if (scale) v /= scale[c]!;
    return v;
  });
}

export function simpleImputer(o: PyObject): Transformer {
  const name = o.shortName;
  const nIn = num(o, 'n_features_in_');
  if (bool(o, 'add_indicator', false)) throw bad('SimpleImputer with add_indicator=True is not supported');
  str(o, 'strategy');
  const stats = arr(o, 'statistics_');
  const objectStats = stats.dtype.kind === 'O' || stats.dtype.kind === 'U' || stats.dtype.kind === 'S';
  const values: Cell[] = stats.values().map((v) => (typeof v === 'number' || typeof v === 'string' ? v : null));
  const mv = attr(o, 'missing_values');
  const isMissing = (c: Cell): boolean => {
    if (mv === null || mv === undefined) return c === null;
    if (typeof mv === 'number' && Number.isNaN(mv)) return c === null || (typeof c === 'number' && Number.isNaN(c));
    if (typeof mv === 'number') return typeof c === 'string' ? cellNumber(c) === mv : c === mv;
    return c === mv;
  };
  // Columns whose statistic is missing (all-NaN at fit) are dropped unless keep_empty_features.
  const keepEmpty = bool(o, 'keep_empty_features', false);
  const keep: number[] = [];
  values.forEach((v, c) => {
    if (keepEmpty || !(v === null || (typeof v === 'number' && Number.isNaN(v)))) keep.push(c);
  });
  const fill = values.map((v) => (v === null && keepEmpty ? 0 : v));
  const fitObject = (() => {
    const d = attr(o, '_fit_dtype');
    return objectStats || (d !== undefined && d !== null && typeof d === 'object' && 'kind' in d && (d as { kind: string }).kind === 'O');
  })();
  return {
    kind: 'transformer', name, nIn, nOut: keep.length, wantsStrings: fitObject,
    transform(x) {
      checkWidth(x, nIn, name);
      if (!objectStats) {
        const X = asNum(x, name);
        const out = new Float64Array(X.rows * keep.length);
        for (let r = 0; r < X.rows; r++) {
          for (let j = 0; j < keep.length; j++) {
            const c = keep[j]!;
            const v = X.data[r * nIn + c]!;
            out[r * keep.length + j] = isMissing(v) ? (fill[c] as number) : v;
          }
        }
        return numMatrix(X.rows, keep.length, out);
      }
      const out: Cell[] = new Array<Cell>(x.rows * keep.length);
      for (let r = 0; r < x.rows; r++) {
        for (let j = 0; j < keep.length; j++) {
          const c = keep[j]!;
          const v: Cell = x.kind === 'num' ? x.data[r * nIn + c]! : x.data[r * nIn + c]!;
          out[r * keep.length + j] = isMissing(v) ? fill[c]! : v;
        }
      }
      return { kind: 'obj', rows: x.rows, cols: keep.length, data: out } satisfies Matrix;
    },
  };
}
