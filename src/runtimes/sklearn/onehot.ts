/** OneHotEncoder: categories matched by value (numbers or strings), with drop and handle_unknown. */
import type { Transformer } from './estimator.js';
import { cellNumber, checkWidth, numMatrix, type Cell } from './matrix.js';
import { NdArray } from './ndarray.js';
import { bad, type PyObject, type PyVal } from './py-values.js';
import { bool, list, num, optStr } from './state.js';

function numericKey(v: number): string {
  return Number.isNaN(v) ? 'nan' : `n:${v}`;
}

/** Lookup key of a cell against categories that are numeric (`numeric`) or objects/strings. */
function cellKey(c: Cell, numeric: boolean): string {
  if (c === null) return 'nan';
  if (numeric) return numericKey(cellNumber(c));
  return typeof c === 'string' ? `s:${c}` : numericKey(c);
}

function categoryKey(v: PyVal): string {
  if (v === null) return 'nan';
  if (typeof v === 'string') return `s:${v}`;
  if (typeof v === 'number') return numericKey(v);
  if (typeof v === 'boolean') return numericKey(v ? 1 : 0);
  throw bad('OneHotEncoder category of an unsupported type');
}

export function oneHotEncoder(o: PyObject): Transformer {
  const name = o.shortName;
  const nIn = num(o, 'n_features_in_');
  if (bool(o, '_infrequent_enabled', false)) throw bad('OneHotEncoder with infrequent categories (min_frequency/max_categories) is not supported');
  const cats = list(o, 'categories_');
  if (cats.length !== nIn) throw bad(`OneHotEncoder has ${cats.length} category lists for ${nIn} features`);
  const dropRaw = o.dict.get('drop_idx_');
  const drop: (number | null)[] = dropRaw instanceof NdArray
    ? dropRaw.values().map((v) => (typeof v === 'number' ? v : null))
    : new Array<number | null>(nIn).fill(null);
  const unknown = optStr(o, 'handle_unknown') ?? 'error';
  let wantsStrings = false;
  const maps: Map<string, number>[] = [];
  const numericCats: boolean[] = [];
  const offsets: number[] = [];
  let width = 0;
  cats.forEach((c, j) => {
    if (!(c instanceof NdArray) || c.ndim !== 1) throw bad(`OneHotEncoder.categories_[${j}] is not a 1-D array`);
    const numeric = !['O', 'U', 'S'].includes(c.dtype.kind);
    if (!numeric) wantsStrings = true;
    numericCats.push(numeric);
    const m = new Map<string, number>();
    const d = drop[j] ?? null;
    let col = 0;
    c.values().forEach((v, i) => {
      if (i === d) { m.set(categoryKey(v), -1); return; }
      m.set(categoryKey(v), col++);
    });
    maps.push(m);
    offsets.push(width);
    width += col;
  });
  return {
    kind: 'transformer', name, nIn, nOut: width, wantsStrings,
    transform(x) {
      checkWidth(x, nIn, name);
      const out = new Float64Array(x.rows * width);
      for (let r = 0; r < x.rows; r++) {
        for (let j = 0; j < nIn; j++) {
          const cell: Cell = x.data[r * nIn + j]!;
          const col = maps[j]!.get(cellKey(cell, numericCats[j]!));
          if (col === undefined) {
            if (unknown === 'error') throw bad(`row ${r}: column ${j} has category ${JSON.stringify(cell)}, which OneHotEncoder did not see in training`);
            continue;
          }
          if (col >= 0) out[r * width + offsets[j]! + col] = 1;
        }
      }
      return numMatrix(x.rows, width, out);
    },
  };
}
