/** Pipeline and ColumnTransformer: chains and column-wise unions of other estimators. */
import type { Block, Classifier, Estimator, Regressor, Transformer } from './estimator.js';
import { numMatrix, type Cell, type Matrix } from './matrix.js';
import { NdArray } from './ndarray.js';
import { bad, PyObject, PySlice, type PyVal } from './py-values.js';
import { attr, list, num } from './state.js';

export type BuildFn = (v: PyVal, where: string, depth: number) => Estimator;

export function pipeline(o: PyObject, build: BuildFn, depth: number): Estimator {
  const steps = list(o, 'steps');
  const ests: Estimator[] = [];
  steps.forEach((s, i) => {
    if (!Array.isArray(s) || s.length < 2) throw bad(`Pipeline.steps[${i}] is not a (name, estimator) pair`);
    const e = s[1]!;
    if (e === null || e === 'passthrough') return;
    ests.push(build(e, `Pipeline.steps[${i}] (${String(s[0])})`, depth + 1));
  });
  const final = ests.pop();
  if (!final) throw bad('Pipeline has no steps');
  const prep = ests.map((e, i) => {
    if (e.kind !== 'transformer') throw bad(`Pipeline step ${i} (${e.name}) is not a transformer`);
    return e;
  });
  const first = prep[0] ?? final;
  const name = `Pipeline(${[...prep, final].map((e) => e.name).join(' → ')})`;
  const nIn = first.nIn;
  const wantsStrings = first.wantsStrings;
  const apply = (x: Matrix): Matrix => prep.reduce<Matrix>((m, t) => t.transform(m), x);
  if (final.kind === 'transformer') {
    const t: Transformer = { kind: 'transformer', name, nIn, wantsStrings, nOut: final.nOut, transform: (x) => final.transform(apply(x)) };
    return t;
  }
  if (final.kind === 'regressor') {
    const r: Regressor = { kind: 'regressor', name, nIn, wantsStrings, nTargets: final.nTargets, predict: (x) => final.predict(apply(x)) };
    return r;
  }
  const c: Classifier = {
    kind: 'classifier', name, nIn, wantsStrings, classes: final.classes,
    predictIndex: (x) => final.predictIndex(apply(x)),
  };
  if (final.predictProba) c.predictProba = (x) => final.predictProba!(apply(x));
  if (final.decisionFunction) c.decisionFunction = (x): Block => final.decisionFunction!(apply(x));
  return c;
}

function columnIndices(spec: PyVal, nIn: number, names: string[] | null, where: string): number[] {
  const byName = (s: string): number => {
    const i = names ? names.indexOf(s) : -1;
    if (i < 0) throw bad(`${where}: column "${s}" is not among the fitted feature names`);
    return i;
  };
  const check = (i: number): number => {
    const j = i < 0 ? i + nIn : i;
    if (!Number.isInteger(j) || j < 0 || j >= nIn) throw bad(`${where}: column ${i} is out of range`);
    return j;
  };
  if (typeof spec === 'number') return [check(spec)];
  if (typeof spec === 'string') return [byName(spec)];
  if (spec instanceof PySlice) {
    const at = (v: PyVal, d: number): number => (v === null ? d : typeof v === 'string' ? byName(v) : Number(v));
    const step = spec.step === null ? 1 : Number(spec.step);
    if (step !== 1) throw bad(`${where}: column slices with a step are not supported`);
    const start = at(spec.start, 0);
    const stop = typeof spec.stop === 'string' ? byName(spec.stop) + 1 : at(spec.stop, nIn);
    const out: number[] = [];
    for (let i = start < 0 ? start + nIn : start; i < Math.min(stop < 0 ? stop + nIn : stop, nIn); i++) out.push(i);
    return out;
  }
  const items: PyVal[] | null = Array.isArray(spec) ? spec : spec instanceof NdArray ? spec.values() : null;
  if (!items) throw bad(`${where}: unsupported column selection`);
  if (spec instanceof NdArray && spec.dtype.kind === 'b') return items.flatMap((v, i) => (v ? [i] : []));
  if (items.length > 0 && items.every((v) => typeof v === 'boolean')) return items.flatMap((v, i) => (v ? [i] : []));
  return items.map((v) => (typeof v === 'string' ? byName(v) : typeof v === 'number' ? check(v) : (() => { throw bad(`${where}: unsupported column selection`); })()));
}

function select(x: Matrix, cols: number[]): Matrix {
  const n = cols.length;
  if (x.kind === 'num') {
    const out = new Float64Array(x.rows * n);
    for (let r = 0; r < x.rows; r++) for (let j = 0; j < n; j++) out[r * n + j] = x.data[r * x.cols + cols[j]!]!;
    return numMatrix(x.rows, n, out);
  }
  const out: Cell[] = new Array<Cell>(x.rows * n);
  for (let r = 0; r < x.rows; r++) for (let j = 0; j < n; j++) out[r * n + j] = x.data[r * x.cols + cols[j]!]!;
  return { kind: 'obj', rows: x.rows, cols: n, data: out };
}

export function columnTransformer(o: PyObject, build: BuildFn, depth: number): Transformer {
  const nIn = num(o, 'n_features_in_');
  const fn = attr(o, 'feature_names_in_');
  const names = fn instanceof NdArray ? fn.values().map(String) : null;
  const parts: { cols: number[]; t: Transformer | null }[] = [];
  list(o, 'transformers_').forEach((entry, i) => {
    if (!Array.isArray(entry) || entry.length < 3) throw bad(`ColumnTransformer.transformers_[${i}] is malformed`);
    const [tname, trans, spec] = entry;
    const where = `ColumnTransformer.transformers_[${i}] (${String(tname)})`;
    const cols = columnIndices(spec ?? null, nIn, names, where);
    if (trans === 'drop' || cols.length === 0) return;
    if (trans === 'passthrough') { parts.push({ cols, t: null }); return; }
    const e = build(trans ?? null, where, depth + 1);
    if (e.kind !== 'transformer') throw bad(`${where} is not a transformer`);
    if (e.nIn >= 0 && e.nIn !== cols.length) throw bad(`${where} expects ${e.nIn} columns, selects ${cols.length}`);
    parts.push({ cols, t: e });
  });
  const nOut = parts.reduce((s, p) => s + (p.t ? p.t.nOut : p.cols.length), 0);
  return {
    kind: 'transformer', name: 'ColumnTransformer', nIn, nOut,
    wantsStrings: parts.some((p) => p.t?.wantsStrings),
    transform(x) {
      if (x.cols !== nIn) throw bad(`ColumnTransformer expects ${nIn} features per row, got ${x.cols}`);
      const outs = parts.map((p) => (p.t ? p.t.transform(select(x, p.cols)) : select(x, p.cols)));
      const width = outs.reduce((s, m) => s + m.cols, 0);
      const numeric = outs.every((m) => m.kind === 'num');
      const data: Float64Array | Cell[] = numeric ? new Float64Array(x.rows * width) : new Array<Cell>(x.rows * width);
      let off = 0;
      for (const m of outs) {
        for (let r = 0; r < x.rows; r++) for (let j = 0; j < m.cols; j++) data[r * width + off + j] = m.data[r * m.cols + j]!;
        off += m.cols;
      }
      return numeric ? numMatrix(x.rows, width, data as Float64Array) : { kind: 'obj', rows: x.rows, cols: width, data: data as Cell[] };
    },
  };
}

