import { InferdError } from '../../api/errors.js';
import type { AttrValueMsg, FunctionDefMsg, GraphDefMsg, NodeDefMsg, SignatureDefMsg } from './tf-proto.js';
import { dtypeName } from './tf-proto.js';

/**
 * Turns a SavedModel graph into one TF.js can run for one signature: inlines function calls
 * (`PartitionedCall`/`StatefulPartitionedCall`, recursively), finds which checkpoint key each
 * variable restores from (by reading the SaverDef's restore ops, as TensorFlow's C++ loader
 * runs them), freezes variable reads into constants, feeds the signature's inputs through
 * placeholders and prunes everything its outputs do not need. `If`/`While` keep their
 * branch and body functions.
 */

export interface GNode {
  name: string;
  op: string;
  /** Data inputs only (`node` or `node:k`); control inputs are dropped. */
  inputs: string[];
  attr: Record<string, AttrValueMsg>;
  /** Where the node came from, for error messages. */
  origin?: string;
}

/** Output argument names of ops with more than one output argument, in order. */
const MULTI_OUTPUT: Record<string, readonly string[]> = {
  FusedBatchNorm: ['y', 'batch_mean', 'batch_variance', 'reserve_space_1', 'reserve_space_2'],
  FusedBatchNormV2: ['y', 'batch_mean', 'batch_variance', 'reserve_space_1', 'reserve_space_2'],
  FusedBatchNormV3: ['y', 'batch_mean', 'batch_variance', 'reserve_space_1', 'reserve_space_2', 'reserve_space_3'],
  TopKV2: ['values', 'indices'],
  Unique: ['y', 'idx'],
  UniqueV2: ['y', 'idx'],
  Switch: ['output_false', 'output_true'],
  Merge: ['output', 'value_index'],
  NonMaxSuppressionV4: ['selected_indices', 'valid_outputs'],
  NonMaxSuppressionV5: ['selected_indices', 'selected_scores', 'valid_outputs'],
  Qr: ['q', 'r'],
  ParseExampleV2: ['sparse_indices', 'sparse_values', 'sparse_shapes', 'dense_values', 'ragged_values', 'ragged_row_splits'],
};

const CALL_OPS = new Set(['PartitionedCall', 'StatefulPartitionedCall']);
const CONTROL_FLOW_FUNC_ATTRS = ['then_branch', 'else_branch', 'cond', 'body', 'branches'];

export function splitTensor(t: string): [string, number] {
  const i = t.lastIndexOf(':');
  if (i < 0) return [t, 0];
  return [t.slice(0, i), Number(t.slice(i + 1))];
}

function tensorName(node: string, k: number): string {
  return k === 0 ? node : `${node}:${k}`;
}

function toGNode(n: NodeDefMsg, origin?: string): GNode {
  const g: GNode = { name: n.name, op: n.op, inputs: (n.input ?? []).filter((i) => !i.startsWith('^')), attr: n.attr ?? {} };
  if (origin !== undefined) g.origin = origin;
  return g;
}

export interface InlinedGraph {
  nodes: Map<string, GNode>;
  library: Map<string, FunctionDefMsg>;
  /** Resolves a tensor name through inlined call outputs. */
  resolve(t: string): string;
}

/** Inlines every function call in the graph (bodies are inlined recursively). */
export function inlineFunctions(graph: GraphDefMsg): InlinedGraph {
  const library = new Map<string, FunctionDefMsg>();
  for (const f of graph.library?.function ?? []) library.set(f.signature.name, f);
  const alias = new Map<string, string>();
  const nodes = new Map<string, GNode>();
  const queue: GNode[] = (graph.node ?? []).map((n) => toGNode(n));
  let inlined = 0;
  while (queue.length > 0) {
    const node = queue.shift()!;
    const fname = CALL_OPS.has(node.op) ? node.attr.f?.func?.name : library.has(node.op) ? node.op : undefined;
    if (fname === undefined) {
      nodes.set(node.name, node);
      continue;
    }
    const fd = library.get(fname);
    if (!fd) throw new InferdError('invalid_input', `node "${node.name}" calls function "${fname}", which the SavedModel's library does not define`);
    if (++inlined > 100_000) throw new InferdError('invalid_input', 'function inlining does not terminate (recursive functions?)');
    const prefix = `${node.name}/`;
    const args = new Map<string, string>();
    fd.signature.input_arg.forEach((a, i) => args.set(a.name, node.inputs[i] ?? ''));
    const bodyOps = new Map<string, string>();
    for (const b of fd.node_def ?? []) bodyOps.set(b.name, b.op);
    const ref = (r: string): string => {
      const parts = r.split(':');
      if (parts.length === 1) return args.get(r) ?? `${prefix}${r}`;
      if (parts.length === 2) return args.has(parts[0]!) ? args.get(parts[0]!)! : `${prefix}${parts[0]}:${parts[1]}`;
      const [n, outArg, idx] = parts as [string, string, string];
      const order = MULTI_OUTPUT[bodyOps.get(n) ?? ''];
      const pos = order ? Math.max(0, order.indexOf(outArg)) : 0;
      return tensorName(`${prefix}${n}`, pos + Number(idx));
    };
    for (const b of fd.node_def ?? []) {
      const g = toGNode(b, node.origin ?? fname);
      g.name = `${prefix}${b.name}`;
      g.inputs = g.inputs.map(ref);
      queue.push(g);
    }
    fd.signature.output_arg.forEach((o, i) => {
      const r = fd.ret[o.name];
      if (r !== undefined) alias.set(tensorName(node.name, i), ref(r));
    });
  }
  const resolve = (t: string): string => {
    let cur = t.endsWith(':0') ? t.slice(0, -2) : t;
    for (let i = 0; i < 10_000; i++) {
      const next = alias.get(cur);
      if (next === undefined) return cur;
      cur = next.endsWith(':0') ? next.slice(0, -2) : next;
    }
    throw new InferdError('invalid_input', `cyclic function outputs at "${t}"`);
  };
  for (const n of nodes.values()) n.inputs = n.inputs.map(resolve);
  return { nodes, library, resolve };
}

/** Follows Identity nodes back to the node that produces a tensor. */
function traceIdentity(g: InlinedGraph, t: string): string {
  let cur = t;
  for (let i = 0; i < 1000; i++) {
    const [name] = splitTensor(cur);
    const n = g.nodes.get(name);
    if (!n || (n.op !== 'Identity' && n.op !== 'IdentityN') || n.inputs.length === 0) return cur;
    cur = n.inputs[n.op === 'IdentityN' ? splitTensor(cur)[1] : 0]!;
  }
  return cur;
}

function stringList(n: GNode | undefined): string[] | undefined {
  const t = n?.op === 'Const' ? n.attr.value?.tensor : undefined;
  if (!t) return undefined;
  return (t.string_val ?? []).map((b) => new TextDecoder().decode(b));
}

/**
 * Which checkpoint key restores each variable node: the SaverDef's restore ops assign
 * `RestoreV2` outputs (whose names come from its `tensor_names` constant) to variables.
 */
export function restoreMap(g: InlinedGraph): Map<string, string> {
  const out = new Map<string, string>();
  for (const n of g.nodes.values()) {
    if (n.op !== 'Assign' && n.op !== 'AssignVariableOp') continue;
    const value = traceIdentity(g, n.inputs[1] ?? '');
    const [src, k] = splitTensor(value);
    const restore = g.nodes.get(src);
    if (!restore || restore.op !== 'RestoreV2') continue;
    const names = stringList(g.nodes.get(splitTensor(traceIdentity(g, restore.inputs[1] ?? ''))[0]));
    const slices = stringList(g.nodes.get(splitTensor(traceIdentity(g, restore.inputs[2] ?? ''))[0]));
    const key = names?.[k];
    if (key === undefined) continue;
    if (slices?.[k]) throw new InferdError('invalid_input', `variable "${key}" is restored from a slice ("${slices[k]}"); partitioned variables are not supported`);
    const [varNode] = splitTensor(traceIdentity(g, n.inputs[0] ?? ''));
    out.set(varNode, key);
  }
  return out;
}

export interface SignatureGraph {
  nodes: GNode[];
  /** Library functions used by If/While nodes. */
  functions: FunctionDefMsg[];
  /** signature input key → placeholder node name. */
  feeds: Map<string, string>;
  /** signature output key → tensor name in `nodes`. */
  fetches: Map<string, string>;
  /** Variable node name → checkpoint key, for the variables this signature reads. */
  variables: Map<string, { key: string; dtype: string }>;
}

const VARIABLE_OPS = new Set(['VarHandleOp', 'VariableV2', 'Variable']);

/** Feeds, freezes and prunes the graph for one signature. */
export function signatureGraph(g: InlinedGraph, sigName: string, sig: SignatureDefMsg, restores: Map<string, string>): SignatureGraph {
  const refuse = (msg: string) => new InferdError('invalid_input', `signature "${sigName}": ${msg}`);
  const feeds = new Map<string, string>();
  const fedTensor = new Map<string, string>();
  const extra = new Map<string, GNode>();
  for (const [key, info] of Object.entries(sig.inputs ?? {})) {
    const t = g.resolve(info.name ?? '');
    const [node, k] = splitTensor(t);
    if (!g.nodes.has(node)) throw refuse(`input "${key}" names tensor "${info.name}", which the graph does not have`);
    const ph = k === 0 ? node : `${node}/__feed_${k}`;
    feeds.set(key, ph);
    fedTensor.set(t, ph);
    extra.set(ph, { name: ph, op: 'Placeholder', inputs: [], attr: { dtype: { type: info.dtype ?? 1 } } });
  }
  const fetches = new Map<string, string>();
  for (const [key, info] of Object.entries(sig.outputs ?? {})) {
    const t = g.resolve(info.name ?? '');
    if (!g.nodes.has(splitTensor(t)[0])) throw refuse(`output "${key}" names tensor "${info.name}", which the graph does not have`);
    fetches.set(key, fedTensor.get(t) ?? t);
  }
  const variables = new Map<string, { key: string; dtype: string }>();
  const keep = new Map<string, GNode>();
  const functions = new Map<string, FunctionDefMsg>();
  const variableOf = (handle: string, user: GNode): string => {
    const [v] = splitTensor(traceIdentity(g, handle));
    const vn = g.nodes.get(v);
    if (!vn || !VARIABLE_OPS.has(vn.op)) throw refuse(`op ${user.op} ("${user.name}") reads a resource that is not a variable (from ${vn?.op ?? 'nothing'})`);
    const key = restores.get(v);
    if (key === undefined) throw refuse(`variable "${v}" is not restored from the checkpoint by the SavedModel's saver`);
    variables.set(v, { key, dtype: dtypeName(vn.attr.dtype?.type) });
    return v;
  };
  const addFunction = (name: string | undefined): void => {
    if (!name || functions.has(name)) return;
    const f = g.library.get(name);
    if (!f) throw refuse(`function "${name}" is missing from the library`);
    functions.set(name, f);
    for (const n of f.node_def ?? []) {
      if (CALL_OPS.has(n.op) || VARIABLE_OPS.has(n.op) || n.op === 'ReadVariableOp') {
        throw refuse(`op ${n.op} inside control-flow function "${name}" is not supported (calls and variables inside If/While bodies)`);
      }
      for (const a of CONTROL_FLOW_FUNC_ATTRS) addFunction(n.attr?.[a]?.func?.name);
    }
  };
  const stack = [...fetches.values()].map((t) => splitTensor(t)[0]);
  while (stack.length > 0) {
    const name = stack.pop()!;
    if (keep.has(name)) continue;
    const fed = extra.get(name);
    if (fed) {
      keep.set(name, fed);
      continue;
    }
    const n = g.nodes.get(name);
    if (!n) throw refuse(`tensor "${name}" is needed but no node produces it`);
    let out: GNode = { ...n, inputs: n.inputs.map((t) => fedTensor.get(t) ?? t) };
    if (n.op === 'ReadVariableOp') {
      const v = variableOf(n.inputs[0] ?? '', n);
      out = { name, op: 'Identity', inputs: [v], attr: { T: { type: n.attr.dtype?.type ?? 1 } } };
    } else if (n.op === 'ResourceGather') {
      const v = variableOf(n.inputs[0] ?? '', n);
      const axis = `${name}/__axis`;
      extra.set(axis, { name: axis, op: 'Const', inputs: [], attr: { dtype: { type: 3 }, value: { tensor: { dtype: 3, tensor_shape: {}, int_val: [0] } } } });
      out = { name, op: 'GatherV2', inputs: [v, out.inputs[1] ?? '', axis], attr: { batch_dims: n.attr.batch_dims ?? { i: 0 }, Tparams: { type: n.attr.dtype?.type ?? 1 }, Tindices: n.attr.Tindices ?? { type: 3 }, Taxis: { type: 3 } } };
    } else if (VARIABLE_OPS.has(n.op)) {
      const consumerOk = variables.has(name) || restores.has(name);
      if (!consumerOk) throw refuse(`variable "${name}" is not restored from the checkpoint`);
      if (n.op !== 'VarHandleOp') variableOf(name, n);
      out = { name, op: 'VariableValue', inputs: [], attr: { dtype: { type: (n.attr.dtype?.type ?? 1) % 100 } } };
    } else if (n.op === 'PlaceholderWithDefault') {
      out = { name, op: 'Identity', inputs: out.inputs.slice(0, 1), attr: { T: n.attr.dtype ?? { type: 1 } } };
    } else if (n.op === 'Placeholder') {
      throw refuse(`it needs placeholder "${name}", which is not one of its inputs`);
    } else if (n.op === 'Assign' || n.op === 'AssignVariableOp') {
      throw refuse(`op ${n.op} ("${name}") writes a variable, which serving does not allow`);
    }
    for (const a of CONTROL_FLOW_FUNC_ATTRS) {
      addFunction(n.attr[a]?.func?.name);
      for (const f of n.attr[a]?.list?.func ?? []) addFunction(f.name);
    }
    keep.set(name, out);
    for (const t of out.inputs) stack.push(splitTensor(t)[0]);
  }
  return { nodes: [...keep.values()], functions: [...functions.values()], feeds, fetches, variables };
}
