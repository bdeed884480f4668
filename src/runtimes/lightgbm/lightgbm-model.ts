/**
 * Reads LightGBM's text model format (`model.txt`, as Booster.save_model writes it)
 * into normalized RawTrees. Decision rules are translated to the shared form:
 *  - numeric `x <= t` becomes `x < nextUp(t)` (exact in float64);
 *  - missing type None: NaN is read as 0, so its direction is fixed per node:
 *    left iff 0 <= t; Zero: NaN and 0 take the default child (NumericZeroMissing);
 *    NaN: NaN takes the default child;
 *  - categorical: children are swapped so that "in the bitset → left, else right,
 *    NaN → right" fits the shared CatLgb rule (see NodeKind.CatLgb).
 */
import { NodeKind, nextUp, type RawTree } from '../trees/forest.js';

export class LgbFormatError extends Error {}

export interface LgbModel {
  objective: string;
  /** Objective tokens after the name, e.g. sigmoid:1, num_class:3, sqrt. */
  objectiveParams: Map<string, string>;
  numClass: number;
  treesPerIteration: number;
  numFeature: number;
  averageOutput: boolean;
  trees: RawTree[];
}

const MAX_LEAVES = 1 << 24;

export function parseLightgbmModel(text: string): LgbModel {
  const lines = text.split('\n');
  let i = 0;
  const header = new Map<string, string>();
  let sawTree = false;
  let sawEnd = false;
  // Header: key=value lines (and the bare `average_output`) up to the first tree.
  for (; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    if (line.startsWith('Tree=')) { sawTree = true; break; }
    if (line === 'end of trees') { sawEnd = true; break; }
    const eq = line.indexOf('=');
    if (eq < 0) { header.set(line, ''); continue; }
    header.set(line.slice(0, eq), line.slice(eq + 1));
  }
  if (!header.has('tree')) {
    throw new LgbFormatError('the file is not a LightGBM text model (its first line is not "tree")');
  }
  const version = header.get('version');
  if (version !== undefined && !/^v[2-4]$/.test(version)) throw new LgbFormatError(`unsupported model version (${version.length} characters; v2 to v4 are supported)`);
  const numClass = intValue(header, 'num_class', 1);
  const treesPerIteration = intValue(header, 'num_tree_per_iteration', 1);
  const maxFeatureIdx = intValue(header, 'max_feature_idx', 0);
  if (treesPerIteration !== numClass && treesPerIteration !== 1) {
    throw new LgbFormatError(`num_tree_per_iteration ${treesPerIteration} does not fit num_class ${numClass}`);
  }
  const objectiveTokens = (header.get('objective') ?? 'regression').trim().split(/\s+/);
  const objective = objectiveTokens[0] ?? 'regression';
  const objectiveParams = new Map<string, string>();
  for (const tok of objectiveTokens.slice(1)) {
    const c = tok.indexOf(':');
    if (c < 0) objectiveParams.set(tok, '');
    else objectiveParams.set(tok.slice(0, c), tok.slice(c + 1));
  }
  const numFeature = maxFeatureIdx + 1;

  const trees: RawTree[] = [];
  while (sawTree && i < lines.length) {
    const line = lines[i]!.trim();
    if (line === 'end of trees') { sawEnd = true; break; }
    if (!line.startsWith('Tree=')) { i++; continue; }
    const index = Number(line.slice(5));
    if (index !== trees.length) throw new LgbFormatError(`tree blocks out of order: found Tree=${line.slice(5, 20)} where Tree=${trees.length} was expected`);
    const fields = new Map<string, string>();
    for (i++; i < lines.length; i++) {
      const l = lines[i]!.trim();
      if (l === '') { if (fields.size > 0) break; continue; }
      if (l.startsWith('Tree=') || l === 'end of trees') break;
      const eq = l.indexOf('=');
      if (eq > 0) fields.set(l.slice(0, eq), l.slice(eq + 1));
    }
    trees.push(parseTree(fields, index, index % treesPerIteration, numFeature));
  }
  if (!sawEnd) throw new LgbFormatError('the model has no "end of trees" line; the file is truncated');
  if (trees.length % treesPerIteration !== 0) throw new LgbFormatError(`${trees.length} trees is not a multiple of num_tree_per_iteration ${treesPerIteration}`);
  return { objective, objectiveParams, numClass, treesPerIteration, numFeature, averageOutput: header.has('average_output'), trees };
}

function intValue(map: Map<string, string>, key: string, min: number): number {
  const raw = map.get(key);
  if (raw === undefined) throw new LgbFormatError(`the model header has no ${key}`);
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min || n > 1 << 28) throw new LgbFormatError(`${key} is invalid (${raw.length} characters)`);
  return n;
}

function numbers(fields: Map<string, string>, key: string, count: number, where: string, integer: boolean): number[] {
  const raw = fields.get(key);
  if (raw === undefined) throw new LgbFormatError(`${where} has no ${key}`);
  const parts = raw.trim() === '' ? [] : raw.trim().split(/\s+/);
  if (count >= 0 && parts.length !== count) throw new LgbFormatError(`${where}: ${key} has ${parts.length} values, expected ${count}`);
  return parts.map((p, k) => {
    const v = parseNumber(p);
    if (p === '' || Number.isNaN(v) && !/^-?nan$/i.test(p)) throw new LgbFormatError(`${where}: ${key}[${k}] is not a number`);
    if (integer && !Number.isSafeInteger(v)) throw new LgbFormatError(`${where}: ${key}[${k}] is not an integer`);
    return v;
  });
}

/** C++ stream spellings too: inf, -inf, nan. */
function parseNumber(p: string): number {
  const v = Number(p);
  if (!Number.isNaN(v)) return v;
  const l = p.toLowerCase();
  if (l === 'inf' || l === '+inf' || l === 'infinity') return Infinity;
  if (l === '-inf' || l === '-infinity') return -Infinity;
  return NaN;
}

function parseTree(fields: Map<string, string>, index: number, group: number, numFeature: number): RawTree {
  const where = `tree ${index}`;
  const numLeaves = Number(fields.get('num_leaves'));
  if (!Number.isSafeInteger(numLeaves) || numLeaves < 1 || numLeaves > MAX_LEAVES) throw new LgbFormatError(`${where}: num_leaves is invalid`);
  if ((fields.get('is_linear') ?? '0').trim() !== '0') throw new LgbFormatError(`${where} is a linear tree (linear_tree=true), which inferd does not support`);
  const leafValue = numbers(fields, 'leaf_value', numLeaves, where, false);
  if (numLeaves === 1) {
    return { group, size: 1, left: [-1], right: [-1], feature: [0], threshold: [0], defaultLeft: [0], value: leafValue };
  }
  const nI = numLeaves - 1;
  const splitFeature = numbers(fields, 'split_feature', nI, where, true);
  const threshold = numbers(fields, 'threshold', nI, where, false);
  const decisionType = numbers(fields, 'decision_type', nI, where, true);
  const leftChild = numbers(fields, 'left_child', nI, where, true);
  const rightChild = numbers(fields, 'right_child', nI, where, true);
  const numCat = Number(fields.get('num_cat') ?? '0');
  let catBoundaries: number[] = [];
  let catThreshold: number[] = [];
  if (numCat > 0) {
    catBoundaries = numbers(fields, 'cat_boundaries', numCat + 1, where, true);
    catThreshold = numbers(fields, 'cat_threshold', -1, where, true);
    if (catBoundaries[0] !== 0 || catBoundaries[numCat] !== catThreshold.length) throw new LgbFormatError(`${where}: cat_boundaries do not match cat_threshold`);
    for (let k = 1; k <= numCat; k++) if (!(catBoundaries[k]! >= catBoundaries[k - 1]!)) throw new LgbFormatError(`${where}: cat_boundaries are not increasing`);
  }
  const size = nI + numLeaves;
  const left = new Int32Array(size).fill(-1);
  const right = new Int32Array(size).fill(-1);
  const feature = new Int32Array(size);
  const thr = new Float64Array(size);
  const dl = new Uint8Array(size);
  const kind = new Uint8Array(size);
  const value = new Float64Array(size);
  const categories = new Map<number, number[]>();
  const child = (c: number): number => {
    // >= 0: internal node; < 0: leaf ~c.
    if (c >= 0) {
      if (c >= nI) throw new LgbFormatError(`${where}: child ${c} is not a node (only ${nI} internal nodes)`);
      return c;
    }
    const leaf = ~c;
    if (leaf >= numLeaves) throw new LgbFormatError(`${where}: child ${c} names leaf ${leaf} of ${numLeaves}`);
    return nI + leaf;
  };
  for (let n = 0; n < nI; n++) {
    const dt = decisionType[n]!;
    if (dt < 0 || dt > 15) throw new LgbFormatError(`${where}: decision_type ${dt} is invalid`);
    let l = child(leftChild[n]!);
    let r = child(rightChild[n]!);
    feature[n] = splitFeature[n]!;
    const t = threshold[n]!;
    if (dt & 1) {
      // Categorical: threshold indexes cat_boundaries.
      const catIdx = t;
      if (!Number.isInteger(catIdx) || catIdx < 0 || catIdx >= numCat) throw new LgbFormatError(`${where}: categorical node ${n} refers to bitset ${t}`);
      const list: number[] = [];
      for (let w = catBoundaries[catIdx]!; w < catBoundaries[catIdx + 1]!; w++) {
        const word = catThreshold[w]!;
        if (word < 0 || word > 0xffffffff) throw new LgbFormatError(`${where}: cat_threshold word ${word} is invalid`);
        for (let b = 0; b < 32; b++) if ((word >>> b) & 1) list.push((w - catBoundaries[catIdx]!) * 32 + b);
      }
      categories.set(n, list);
      kind[n] = NodeKind.CatLgb;
      [l, r] = [r, l];
      dl[n] = 1;
    } else {
      if (Number.isNaN(t)) throw new LgbFormatError(`${where}: node ${n} has threshold NaN`);
      const missing = (dt >> 2) & 3;
      const defaultLeft = (dt & 2) !== 0;
      // x <= t is x < nextUp(t); for t = +inf (every value left) the shared rule's
      // "right iff x >= threshold" takes a NaN threshold, which no value reaches.
      thr[n] = t === Infinity ? NaN : nextUp(t);
      if (missing === 0) { kind[n] = NodeKind.Numeric; dl[n] = 0 <= t ? 1 : 0; }
      else if (missing === 1) { kind[n] = NodeKind.NumericZeroMissing; dl[n] = defaultLeft ? 1 : 0; }
      else if (missing === 2) { kind[n] = NodeKind.Numeric; dl[n] = defaultLeft ? 1 : 0; }
      else throw new LgbFormatError(`${where}: node ${n} has unknown missing type ${missing}`);
    }
    left[n] = l;
    right[n] = r;
  }
  for (let j = 0; j < numLeaves; j++) value[nI + j] = leafValue[j]!;
  void numFeature;
  return { group, size, left, right, feature, threshold: thr, defaultLeft: dl, kind, value, categories };
}
