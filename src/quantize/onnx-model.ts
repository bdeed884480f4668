/**
 * Reading, checking and writing ONNX models with `onnx-proto` (protobufjs-generated from
 * onnx.proto), and the small tensor/attribute/name helpers the graph rewrites share.
 */
import onnxProto from 'onnx-proto';
import { InferdError } from '../api/errors.js';

export const { onnx } = onnxProto;
export type Model = onnxProto.onnx.ModelProto;
export type Graph = onnxProto.onnx.IGraphProto;
export type NodeProto = onnxProto.onnx.INodeProto;
export type TensorProto = onnxProto.onnx.ITensorProto;
export type AttributeProto = onnxProto.onnx.IAttributeProto;
export type ValueInfo = onnxProto.onnx.IValueInfoProto;

/** TensorProto.DataType numbers used here. */
export const DT = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7, BOOL: 9, FLOAT16: 10, DOUBLE: 11 } as const;
export const ATTR = onnx.AttributeProto.AttributeType;

type IntLike = number | { toNumber(): number } | null | undefined;
/** protobufjs hands int64 fields back as Long objects. */
export function toNum(v: IntLike): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'number' ? v : v.toNumber();
}

/** Decodes and sanity-checks a model; anything that is not a usable ONNX model is an `invalid_input` error naming `source`. */
export function decodeModel(bytes: Uint8Array, source: string): Model {
  if (bytes.length === 0) throw new InferdError('invalid_input', `${source}: empty file, not an ONNX model`);
  let model: Model;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (err) {
    throw new InferdError('invalid_input', `${source}: not an ONNX model (protobuf decoding failed: ${(err as Error).message})`, { cause: err });
  }
  const g = model.graph;
  if (!g || toNum(model.irVersion) < 3 || model.opsetImport.length === 0 || (g.node ?? []).length === 0 || (g.output ?? []).length === 0) {
    throw new InferdError('invalid_input', `${source}: not an ONNX model (no graph with nodes and outputs, IR version or opset imports)`);
  }
  for (const t of g.initializer ?? []) {
    if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
      throw new InferdError('invalid_input', `${source}: initializer "${t.name}" uses external data, which inferd quantize does not read; save the model with its weights inside`);
    }
  }
  return model;
}

export function encodeModel(model: Model): Uint8Array {
  return onnx.ModelProto.encode(model).finish();
}

export function cloneModel(model: Model): Model {
  return onnx.ModelProto.decode(encodeModel(model));
}

export function graphOf(model: Model): Graph & { node: NodeProto[]; initializer: TensorProto[]; input: ValueInfo[]; output: ValueInfo[]; valueInfo: ValueInfo[] } {
  const g = model.graph!;
  g.node ??= [];
  g.initializer ??= [];
  g.input ??= [];
  g.output ??= [];
  g.valueInfo ??= [];
  return g as ReturnType<typeof graphOf>;
}

/** The version of the default ("" or "ai.onnx") opset. */
export function defaultOpset(model: Model): number {
  const o = model.opsetImport.find((x) => !x.domain || x.domain === 'ai.onnx');
  return o ? toNum(o.version) : 0;
}

export function isDefaultDomain(node: NodeProto): boolean {
  return !node.domain || node.domain === 'ai.onnx';
}

export function dims(t: TensorProto): number[] {
  return (t.dims ?? []).map((d) => toNum(d));
}

/** A FLOAT tensor's values, from raw_data (little-endian) or float_data. */
export function floatValues(t: TensorProto): Float32Array {
  if (t.dataType !== DT.FLOAT) throw new Error(`tensor "${t.name}" is not FLOAT`);
  const count = dims(t).reduce((a, b) => a * b, 1);
  if (t.rawData && t.rawData.length > 0) {
    if (t.rawData.length !== count * 4) throw new InferdError('invalid_input', `tensor "${t.name}": raw_data has ${t.rawData.length} bytes for ${count} floats`);
    const copy = new Uint8Array(t.rawData); // aligned copy of a possibly unaligned view
    return new Float32Array(copy.buffer, 0, count);
  }
  const data = Float32Array.from(t.floatData ?? []);
  if (data.length !== count) throw new InferdError('invalid_input', `tensor "${t.name}": float_data has ${data.length} values for ${count}`);
  return data;
}

const bytesOf = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

export function floatTensor(name: string, shape: number[], values: Float32Array): TensorProto {
  return { name, dims: shape, dataType: DT.FLOAT, rawData: bytesOf(values) };
}
export function int8Tensor(name: string, shape: number[], values: Int8Array): TensorProto {
  return { name, dims: shape, dataType: DT.INT8, rawData: bytesOf(values) };
}
export function halfTensor(name: string, shape: number[], halves: Uint16Array): TensorProto {
  return { name, dims: shape, dataType: DT.FLOAT16, rawData: bytesOf(halves) };
}

export function attr(node: NodeProto, name: string): AttributeProto | undefined {
  return (node.attribute ?? []).find((a) => a.name === name);
}
export function attrInt(node: NodeProto, name: string, dflt: number): number {
  const a = attr(node, name);
  return a ? toNum(a.i) : dflt;
}
export function attrFloat(node: NodeProto, name: string, dflt: number): number {
  const a = attr(node, name);
  return a && typeof a.f === 'number' ? a.f : dflt;
}

export function makeNode(opType: string, inputs: string[], outputs: string[], name: string, attrs: AttributeProto[] = []): NodeProto {
  return { opType, input: inputs, output: outputs, name, attribute: attrs, domain: '' };
}
export const intAttr = (name: string, i: number): AttributeProto => ({ name, type: ATTR.INT, i });

/** True when any node (at any depth) carries a subgraph (If, Loop, Scan). */
export function hasSubgraphs(g: Graph): boolean {
  return (g.node ?? []).some((n) => (n.attribute ?? []).some((a) => a.g || (a.graphs ?? []).length > 0));
}

/** Every tensor name read anywhere: node inputs at all depths and graph outputs. */
export function namesRead(g: Graph, into = new Set<string>()): Set<string> {
  for (const n of g.node ?? []) {
    for (const i of n.input ?? []) if (i) into.add(i);
    for (const a of n.attribute ?? []) {
      if (a.g) namesRead(a.g, into);
      for (const sub of a.graphs ?? []) namesRead(sub, into);
    }
  }
  for (const o of g.output ?? []) if (o.name) into.add(o.name);
  return into;
}

/** Hands out tensor and node names not yet used in the graph. */
export class NameScope {
  private readonly used = new Set<string>();

  constructor(g: Graph) {
    const add = (s: string | null | undefined): void => void (s && this.used.add(s));
    for (const n of g.node ?? []) {
      add(n.name);
      (n.input ?? []).forEach(add);
      (n.output ?? []).forEach(add);
    }
    for (const t of g.initializer ?? []) add(t.name);
    for (const v of [...(g.input ?? []), ...(g.output ?? []), ...(g.valueInfo ?? [])]) add(v.name);
  }

  unique(base: string): string {
    let name = base;
    for (let i = 1; this.used.has(name); i++) name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }
}
