/**
 * Reads XGBoost models (JSON, UBJSON and the legacy binary `.bst` of XGBoost < 2)
 * into one normalized form. Format is sniffed from the bytes, not the file name,
 * as XGBoost's own loader does.
 */
import { NodeKind, type RawTree } from '../trees/forest.js';
import { decodeUbjson, UbjsonError } from './ubjson.js';

export class XgbFormatError extends Error {}

export interface XgbModel {
  objective: string;
  /** learner_model_param.base_score: user-space value(s), float32. */
  baseScore: number[];
  numFeature: number;
  /** Output groups: num_class for multi-class objectives, else 1. */
  numGroups: number;
  trees: RawTree[];
  /** Tree index where each boosting iteration starts, plus the end (length iterations + 1). */
  iterationPtr: number[];
  bestIteration?: number;
  source: 'json' | 'ubjson' | 'binary';
}

type Obj = Record<string, unknown>;

export function parseXgboostModel(bytes: Uint8Array): XgbModel {
  const kind = sniff(bytes);
  if (kind === 'binary') return parseLegacyBinary(bytes);
  let doc: unknown;
  if (kind === 'json') {
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      throw new XgbFormatError('the file is not valid UTF-8 JSON');
    }
    try {
      doc = JSON.parse(text);
    } catch (err) {
      // XGBoost writes bare NaN / Infinity (e.g. split_conditions of categorical nodes).
      try {
        doc = JSON.parse(withoutNonFinite(text));
      } catch {
        // JSON.parse's message quotes the text around the error: described, never echoed.
        throw new XgbFormatError(`the file (${text.length} characters) is not valid JSON; is it truncated?`);
      }
    }
  } else {
    try {
      doc = decodeUbjson(bytes);
    } catch (err) {
      if (err instanceof UbjsonError) throw new XgbFormatError(`the file is not valid UBJSON: ${err.message}`);
      throw err;
    }
  }
  return fromDocument(doc, kind);
}

/**
 * Rewrites the bare tokens NaN, Infinity and -Infinity outside strings into JSON
 * that parses to null (read back as NaN) and ±1e999 (parses to ±Infinity).
 */
function withoutNonFinite(text: string): string {
  let out = '';
  let last = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) { inString = true; continue; }
    if (c === 0x4e && text.startsWith('NaN', i)) {
      out += text.slice(last, i) + 'null';
      last = i + 3;
      i += 2;
    } else if (c === 0x49 && text.startsWith('Infinity', i)) {
      out += text.slice(last, i) + '1e999';
      last = i + 8;
      i += 7;
    }
  }
  return out + text.slice(last);
}

function sniff(bytes: Uint8Array): 'json' | 'ubjson' | 'binary' {
  let i = 0;
  while (i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x0a || bytes[i] === 0x0d || bytes[i] === 0x09)) i++;
  if (bytes[i] === 0x7b /* { */) {
    const next = bytes[i + 1];
    // UBJSON: `{` then a length marker for the first key, `#`/`$` or `}`.
    if (next !== undefined && [0x69, 0x55, 0x49, 0x6c, 0x4c, 0x23, 0x24].includes(next)) return 'ubjson';
    return 'json';
  }
  if (bytes.length >= 4 && bytes[0] === 0x62 && bytes[1] === 0x69 && bytes[2] === 0x6e && bytes[3] === 0x66) return 'binary'; // "binf"
  if (bytes.length >= 136 + 16) return 'binary';
  throw new XgbFormatError('the file is not an XGBoost model (neither JSON, UBJSON nor the legacy binary format)');
}

// ---------------------------------------------------------------- JSON / UBJSON

function obj(v: unknown, where: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || ArrayBuffer.isView(v)) {
    throw new XgbFormatError(`${where} is missing or not an object; this is not an XGBoost model document`);
  }
  return v as Obj;
}

/** A number stored as a JSON number or as XGBoost's string form ("5E-1", "[5E-1]"). */
function num(v: unknown, where: string): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string') {
    const s = v.trim();
    const n = Number(s);
    if (s !== '' && !Number.isNaN(n)) return n;
  }
  throw new XgbFormatError(`${where} is not a number`);
}

function numList(v: unknown, where: string): number[] {
  if (typeof v === 'string' && v.trim().startsWith('[')) {
    const inner = v.trim().slice(1, -1).trim();
    if (inner === '') return [];
    return inner.split(',').map((s) => num(s, where));
  }
  return [num(v, where)];
}

function intOf(v: unknown, where: string, min = 0): number {
  const n = num(v, where);
  if (!Number.isSafeInteger(n) || n < min) throw new XgbFormatError(`${where} must be an integer ≥ ${min}, got ${String(v)}`);
  return n;
}

function arr(v: unknown, where: string): ArrayLike<number> {
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const x: unknown = v[i];
      if (typeof x !== 'number') {
        if (typeof x === 'boolean') { v[i] = x ? 1 : 0; continue; }
        if (x === null) { v[i] = NaN; continue; }
        throw new XgbFormatError(`${where}[${i}] is not a number`);
      }
    }
    return v as number[];
  }
  if (v instanceof BigInt64Array) return Array.from(v, (b) => Number(b));
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return v as unknown as ArrayLike<number>;
  throw new XgbFormatError(`${where} is missing or not an array`);
}

function fromDocument(doc: unknown, source: 'json' | 'ubjson'): XgbModel {
  const root = obj(doc, 'the document');
  const learner = obj(root.learner, '"learner"');
  const mparam = obj(learner.learner_model_param, 'learner.learner_model_param');
  const numFeature = intOf(mparam.num_feature, 'learner_model_param.num_feature', 1);
  const numClass = intOf(mparam.num_class ?? 0, 'learner_model_param.num_class');
  const numTarget = intOf(mparam.num_target ?? 1, 'learner_model_param.num_target', 1);
  if (numTarget > 1) throw new XgbFormatError('multi-target models (num_target > 1) are not supported');
  const baseScore = numList(mparam.base_score ?? '0.5', 'learner_model_param.base_score').map(Math.fround);
  const objective = String(obj(learner.objective, 'learner.objective').name ?? '');
  const gb = obj(learner.gradient_booster, 'learner.gradient_booster');
  const gbName = String(gb.name ?? '');
  if (gbName === 'gblinear') throw new XgbFormatError('gblinear (linear booster) models are not supported; inferd serves tree models');
  if (gbName === 'dart') throw new XgbFormatError('DART boosters are not supported yet; retrain with booster=gbtree');
  if (gbName !== 'gbtree') throw new XgbFormatError(`unknown booster "${gbName}"`);
  const model = obj(gb.model, 'gradient_booster.model');
  const gparam = obj(model.gbtree_model_param, 'gbtree_model_param');
  const numTrees = intOf(gparam.num_trees, 'gbtree_model_param.num_trees');
  const numParallel = intOf(gparam.num_parallel_tree ?? 1, 'gbtree_model_param.num_parallel_tree', 1);
  const treesRaw = model.trees;
  if (!Array.isArray(treesRaw)) throw new XgbFormatError('gradient_booster.model.trees is not an array');
  if (treesRaw.length !== numTrees) throw new XgbFormatError(`num_trees says ${numTrees} but the model has ${treesRaw.length} trees`);
  const treeInfo = arr(model.tree_info, 'tree_info');
  if (treeInfo.length !== numTrees) throw new XgbFormatError('tree_info length differs from the tree count');
  const numGroups = Math.max(1, numClass);
  const trees = treesRaw.map((t, i) => jsonTree(t, i, treeInfo[i]!));
  let iterationPtr: number[];
  if (model.iteration_indptr !== undefined) {
    iterationPtr = Array.from(arr(model.iteration_indptr, 'iteration_indptr'));
    validatePtr(iterationPtr, numTrees);
  } else {
    iterationPtr = uniformPtr(numTrees, numGroups * numParallel);
  }
  const attrs = learner.attributes !== undefined ? obj(learner.attributes, 'learner.attributes') : {};
  const best = attrs.best_iteration !== undefined ? intOf(attrs.best_iteration, 'attributes.best_iteration') : undefined;
  return { objective, baseScore, numFeature, numGroups, trees, iterationPtr, source, ...(best === undefined ? {} : { bestIteration: best }) };
}

function uniformPtr(numTrees: number, perIter: number): number[] {
  const ptr = [0];
  for (let t = perIter; t < numTrees; t += perIter) ptr.push(t);
  if (numTrees > 0) ptr.push(numTrees);
  return ptr;
}

function validatePtr(ptr: number[], numTrees: number): void {
  if (ptr.length < 1 || ptr[0] !== 0 || ptr[ptr.length - 1] !== numTrees) throw new XgbFormatError('iteration_indptr does not cover the trees');
  for (let i = 1; i < ptr.length; i++) if (!(ptr[i]! >= ptr[i - 1]!)) throw new XgbFormatError('iteration_indptr is not increasing');
}

function jsonTree(raw: unknown, index: number, group: number): RawTree {
  const where = `tree ${index}`;
  const t = obj(raw, where);
  const tp = obj(t.tree_param, `${where}.tree_param`);
  const size = intOf(tp.num_nodes, `${where}.tree_param.num_nodes`, 1);
  const leafVec = intOf(tp.size_leaf_vector ?? 0, `${where}.size_leaf_vector`);
  if (leafVec > 1) throw new XgbFormatError('vector-leaf (multi-target) trees are not supported');
  const left = arr(t.left_children, `${where}.left_children`);
  const right = arr(t.right_children, `${where}.right_children`);
  const feature = arr(t.split_indices, `${where}.split_indices`);
  const cond = arr(t.split_conditions, `${where}.split_conditions`);
  const defaultLeft = arr(t.default_left, `${where}.default_left`);
  for (const [name, a] of [['left_children', left], ['right_children', right], ['split_indices', feature], ['split_conditions', cond], ['default_left', defaultLeft]] as const) {
    if (a.length !== size) throw new XgbFormatError(`${where}.${name} has ${a.length} entries, num_nodes is ${size}`);
  }
  const threshold = Float32Array.from(cond as ArrayLike<number>, (x) => Math.fround(x));
  checkThresholds(left, threshold, t.split_type === undefined ? undefined : arr(t.split_type, `${where}.split_type`), where);
  let kind: Uint8Array | undefined;
  let categories: Map<number, number[]> | undefined;
  if (t.split_type !== undefined) {
    const st = arr(t.split_type, `${where}.split_type`);
    if (st.length !== size && st.length !== 0) throw new XgbFormatError(`${where}.split_type length differs from num_nodes`);
    if (Array.prototype.some.call(st, (x: number) => x !== 0)) {
      kind = new Uint8Array(size);
      for (let n = 0; n < size; n++) {
        const s = st[n]!;
        if (s === 0) kind[n] = NodeKind.Numeric;
        else if (s === 1) kind[n] = NodeKind.CatXgb;
        else throw new XgbFormatError(`${where}: node ${n} has unknown split_type ${s}`);
      }
      const cats = arr(t.categories, `${where}.categories`);
      const nodes = arr(t.categories_nodes, `${where}.categories_nodes`);
      const segs = arr(t.categories_segments, `${where}.categories_segments`);
      const sizes = arr(t.categories_sizes, `${where}.categories_sizes`);
      if (nodes.length !== segs.length || nodes.length !== sizes.length) throw new XgbFormatError(`${where}: categories_* arrays differ in length`);
      categories = new Map();
      for (let i = 0; i < nodes.length; i++) {
        const node = nodes[i]!;
        const beg = segs[i]!;
        const len = sizes[i]!;
        if (!Number.isInteger(node) || node < 0 || node >= size) throw new XgbFormatError(`${where}: categories_nodes[${i}] = ${node} is out of range`);
        if (!Number.isInteger(beg) || !Number.isInteger(len) || beg < 0 || len < 0 || beg + len > cats.length) {
          throw new XgbFormatError(`${where}: category segment ${i} is out of range`);
        }
        categories.set(node, Array.from({ length: len }, (_, k) => cats[beg + k]!));
      }
    }
  }
  return {
    group, size, left, right, feature, threshold, defaultLeft, value: threshold,
    ...(kind ? { kind } : {}), ...(categories ? { categories } : {}),
  };
}

/** XGBoost sends x right when !(x < NaN); the shared rule would send it left, so refuse NaN on numeric splits. */
function checkThresholds(left: ArrayLike<number>, thr: Float32Array, splitType: ArrayLike<number> | undefined, where: string): void {
  for (let n = 0; n < thr.length; n++) {
    if (left[n]! >= 0 && Number.isNaN(thr[n]) && !(splitType && splitType[n] === 1)) {
      throw new XgbFormatError(`${where}: numeric split ${n} has a NaN split condition`);
    }
  }
}

// ---------------------------------------------------------------- legacy binary

class BinReader {
  pos = 0;
  private readonly view: DataView;
  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  need(n: number): void {
    if (n < 0 || this.pos + n > this.bytes.length) throw new XgbFormatError(`binary model is truncated at byte ${this.pos}`);
  }
  i32(): number { this.need(4); const v = this.view.getInt32(this.pos, true); this.pos += 4; return v; }
  u32(): number { this.need(4); const v = this.view.getUint32(this.pos, true); this.pos += 4; return v; }
  f32(): number { this.need(4); const v = this.view.getFloat32(this.pos, true); this.pos += 4; return v; }
  u64(): number {
    this.need(8);
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    if (v > BigInt(this.bytes.length)) throw new XgbFormatError(`binary model has an impossible length ${v} at byte ${this.pos - 8}`);
    return Number(v);
  }
  skip(n: number): void { this.need(n); this.pos += n; }
  str(): string {
    const n = this.u64();
    this.need(n);
    const s = new TextDecoder().decode(this.bytes.subarray(this.pos, this.pos + n));
    this.pos += n;
    return s;
  }
  get left(): number { return this.bytes.length - this.pos; }
}

/** XGBoost's pre-2.0 binary format (LearnerModelParamLegacy, GBTreeModelParam, RegTree nodes). */
function parseLegacyBinary(bytes: Uint8Array): XgbModel {
  const r = new BinReader(bytes);
  if (bytes[0] === 0x62 && bytes[1] === 0x69 && bytes[2] === 0x6e && bytes[3] === 0x66) r.skip(4);
  // LearnerModelParamLegacy: 136 bytes.
  const start = r.pos;
  const baseScore = r.f32();
  const numFeature = r.u32();
  const numClass = r.i32();
  const containExtraAttrs = r.i32();
  r.i32(); // contain_eval_metrics
  r.skip(136 - (r.pos - start));
  if (!(numFeature >= 1 && numFeature < 1 << 28) || numClass < 0 || numClass > 1 << 20) {
    throw new XgbFormatError('the file is not an XGBoost model (bad binary header)');
  }
  const objective = r.str();
  const booster = r.str();
  if (!/^[a-z:_]{1,64}$/.test(objective)) throw new XgbFormatError('the file is not an XGBoost model (bad objective name in binary header)');
  if (booster === 'gblinear') throw new XgbFormatError('gblinear (linear booster) models are not supported; inferd serves tree models');
  if (booster === 'dart') throw new XgbFormatError('DART boosters are not supported yet; retrain with booster=gbtree');
  if (booster !== 'gbtree') throw new XgbFormatError(`unknown booster "${booster.slice(0, 40)}" in binary model`);
  // GBTreeModelParam: 160 bytes.
  const gStart = r.pos;
  const numTrees = r.i32();
  const numParallel = r.i32();
  r.skip(160 - (r.pos - gStart));
  if (numTrees < 0 || numTrees * (148 + 36) > r.left) throw new XgbFormatError(`binary model claims ${numTrees} trees, more than the file holds`);
  const numGroups = Math.max(1, numClass);
  const trees: RawTree[] = [];
  const leftAll: Int32Array[] = [];
  for (let t = 0; t < numTrees; t++) {
    // TreeParam: 148 bytes.
    const tStart = r.pos;
    r.i32(); // num_roots
    const numNodes = r.i32();
    r.i32(); // num_deleted
    r.i32(); // max_depth
    r.i32(); // num_feature
    const leafVec = r.i32();
    r.skip(148 - (r.pos - tStart));
    if (numNodes < 1 || numNodes * 36 > r.left) throw new XgbFormatError(`binary model tree ${t} claims ${numNodes} nodes, more than the file holds`);
    if (leafVec > 1) throw new XgbFormatError('vector-leaf trees are not supported');
    const left = new Int32Array(numNodes);
    const right = new Int32Array(numNodes);
    const feature = new Int32Array(numNodes);
    const threshold = new Float32Array(numNodes);
    const defaultLeft = new Uint8Array(numNodes);
    for (let n = 0; n < numNodes; n++) {
      r.i32(); // parent
      left[n] = r.i32();
      right[n] = r.i32();
      const sindex = r.u32();
      threshold[n] = r.f32();
      feature[n] = sindex === 0xffffffff ? 0 : sindex & 0x7fffffff;
      defaultLeft[n] = sindex >>> 31;
    }
    r.skip(16 * numNodes); // RTreeNodeStat
    checkThresholds(left, threshold, undefined, `tree ${t}`);
    leftAll.push(left);
    trees.push({ group: 0, size: numNodes, left, right, feature, threshold, defaultLeft, value: threshold });
  }
  for (let t = 0; t < numTrees; t++) trees[t]!.group = r.i32();
  let bestIteration: number | undefined;
  if (containExtraAttrs !== 0 && r.left >= 8) {
    const count = r.u64();
    for (let i = 0; i < count; i++) {
      const k = r.str();
      const v = r.str();
      if (k === 'best_iteration') {
        const b = Number(v);
        if (Number.isSafeInteger(b) && b >= 0) bestIteration = b;
      }
    }
  }
  return {
    objective, baseScore: [Math.fround(baseScore)], numFeature, numGroups, trees,
    iterationPtr: uniformPtr(numTrees, numGroups * Math.max(1, numParallel)), source: 'binary',
    ...(bestIteration === undefined ? {} : { bestIteration }),
  };
}
