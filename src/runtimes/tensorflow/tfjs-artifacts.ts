import type { io } from '@tensorflow/tfjs-core';
import { InferdError } from '../../api/errors.js';
import type { GNode, SignatureGraph } from './graph-transform.js';
import type { TensorBundle } from './tensor-bundle.js';
import { dtypeName, num, type AttrValueMsg, type FunctionDefMsg, type NodeDefMsg, type ShapeProto } from './tf-proto.js';
import { fromRawBytes, fromTensorProto, weightBytes, type ConstValue } from './tf-tensors.js';

/**
 * Writes a signature's graph in the JSON form tfjs-converter's GraphModel reads
 * (`model.json`'s `modelTopology`: protobuf JSON with DT_* names, base64 strings and
 * int64 as strings) with every constant and frozen variable as a weight.
 */

type Json = Record<string, unknown>;

function b64(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
}

function shapeJson(s: ShapeProto | undefined): Json {
  const out: Json = { dim: (s?.dim ?? []).map((d) => ({ size: String(num(d.size)) })) };
  if (s?.unknown_rank) out.unknownRank = true;
  return out;
}

function attrJson(a: AttrValueMsg): Json {
  if (a.list !== undefined) {
    const l = a.list;
    const out: Json = {};
    if (l.s?.length) out.s = l.s.map(b64);
    if (l.i?.length) out.i = l.i.map((v) => String(num(v)));
    if (l.f?.length) out.f = l.f;
    if (l.b?.length) out.b = l.b;
    if (l.type?.length) out.type = l.type.map(dtypeName);
    if (l.shape?.length) out.shape = l.shape.map(shapeJson);
    if (l.func?.length) out.func = l.func.map((f) => ({ name: f.name, attr: attrsJson(f.attr ?? {}) }));
    return { list: out };
  }
  if (a.s !== undefined) return { s: b64(a.s) };
  if (a.i !== undefined) return { i: String(num(a.i)) };
  if (a.f !== undefined) return { f: a.f };
  if (a.b !== undefined) return { b: a.b };
  if (a.type !== undefined) return { type: dtypeName(a.type) };
  if (a.shape !== undefined) return { shape: shapeJson(a.shape) };
  if (a.tensor !== undefined) return { tensor: { dtype: dtypeName(a.tensor.dtype), tensorShape: shapeJson(a.tensor.tensor_shape) } };
  if (a.func !== undefined) return { func: { name: a.func.name, attr: attrsJson(a.func.attr ?? {}) } };
  if (a.placeholder !== undefined) return { placeholder: a.placeholder };
  return {};
}

function attrsJson(attrs: Record<string, AttrValueMsg>): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(attrs)) {
    if (k === '_output_shapes' || k === '_class') continue;
    out[k] = attrJson(v);
  }
  return out;
}

function nodeJson(n: { name: string; op: string; inputs: string[]; attr: Record<string, AttrValueMsg> }): Json {
  return { name: n.name, op: n.op, input: n.inputs, attr: attrsJson(n.attr) };
}

function functionJson(f: FunctionDefMsg): Json {
  const arg = (a: { name: string; type?: number; type_attr?: string; number_attr?: string; type_list_attr?: string }) => ({
    name: a.name, type: dtypeName(a.type), typeAttr: a.type_attr, numberAttr: a.number_attr, typeListAttr: a.type_list_attr,
  });
  return {
    signature: { name: f.signature.name, inputArg: f.signature.input_arg.map(arg), outputArg: f.signature.output_arg.map(arg) },
    nodeDef: (f.node_def ?? []).map((n: NodeDefMsg) => ({ name: n.name, op: n.op, input: n.input ?? [], attr: attrsJson(n.attr ?? {}) })),
    ret: f.ret,
    attr: attrsJson(f.attr ?? {}),
  };
}

export interface BuiltArtifacts {
  artifacts: io.ModelArtifacts;
  weightBytes: number;
}

/** Builds GraphModel artifacts; frozen variables are read from the checkpoint here. */
export async function buildArtifacts(sigName: string, g: SignatureGraph, bundle: TensorBundle | undefined, producer: number): Promise<BuiltArtifacts> {
  const weights: Array<{ spec: io.WeightsManifestEntry; bytes: Uint8Array }> = [];
  const addWeight = (name: string, v: ConstValue) => weights.push({ spec: { name, shape: v.shape, dtype: v.dtype }, bytes: weightBytes(v) });
  const nodes: Json[] = [];
  for (const n of g.nodes) {
    if (n.op === 'Const') {
      const t = n.attr.value?.tensor;
      if (!t) throw new InferdError('invalid_input', `signature "${sigName}": constant "${n.name}" has no value`);
      addWeight(n.name, decodeOr(sigName, n, () => fromTensorProto(t, `constant "${n.name}"`)));
      nodes.push(nodeJson(n));
    } else if (n.op === 'VariableValue') {
      const v = g.variables.get(n.name);
      if (!v || !bundle) throw new InferdError('invalid_input', `signature "${sigName}": variable "${n.name}" has no checkpoint value (no variables/ directory?)`);
      const { entry, bytes } = await bundle.read(v.key);
      const value = decodeOr(sigName, n, () => fromRawBytes(entry.dtype, entry.shape, bytes, `variable "${n.name}" (${v.key})`));
      addWeight(n.name, value);
      const dtype = n.attr.dtype?.type ?? 1;
      nodes.push(nodeJson({ name: n.name, op: 'Const', inputs: [], attr: { dtype: { type: dtype }, value: { tensor: { dtype, tensor_shape: { dim: entry.shape.map((size) => ({ size })) } } } } }));
    } else {
      nodes.push(nodeJson(n));
    }
  }
  let total = 0;
  for (const w of weights) total += w.bytes.length;
  const data = new Uint8Array(total);
  let o = 0;
  for (const w of weights) {
    data.set(w.bytes, o);
    o += w.bytes.length;
  }
  return {
    artifacts: {
      format: 'graph-model',
      generatedBy: 'inferd',
      convertedBy: 'inferd SavedModel loader',
      modelTopology: { node: nodes, library: { function: g.functions.map(functionJson) }, versions: { producer } },
      weightSpecs: weights.map((w) => w.spec),
      weightData: data.buffer,
    },
    weightBytes: total,
  };
}

function decodeOr(sigName: string, n: GNode, f: () => ConstValue): ConstValue {
  try {
    return f();
  } catch (err) {
    if (err instanceof InferdError) throw err;
    throw new InferdError('invalid_input', `signature "${sigName}": ${(err as Error).message}`);
  }
}
