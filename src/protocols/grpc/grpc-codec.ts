import { invalidInput, quote } from '../../api/errors.js';
import { isDatatype, type Datatype, type TensorData } from '../../api/datatype.js';
import { elementCount, type InferRequest, type InferResponse, type Parameters, type Tensor, type TensorSpec } from '../../api/inference.js';
import { fromValues } from '../tensor-values.js';
import { decodeRaw, encodeRaw } from '../v2/binary-tensor.js';
import { checkBytesCount, type Limits } from '../v2/rest-codec.js';

/** Message shapes as @grpc/proto-loader yields them with keepCase, longs as strings, oneofs. */
interface GrpcParameter {
  parameter_choice?: 'bool_param' | 'int64_param' | 'string_param' | 'double_param' | 'uint64_param';
  bool_param?: boolean;
  int64_param?: string;
  string_param?: string;
  double_param?: number;
  uint64_param?: string;
}
type GrpcParameters = Record<string, GrpcParameter>;

export interface GrpcContents {
  bool_contents?: boolean[];
  int_contents?: number[];
  int64_contents?: string[];
  uint_contents?: number[];
  uint64_contents?: string[];
  fp32_contents?: number[];
  fp64_contents?: number[];
  bytes_contents?: Buffer[];
}

interface GrpcInputTensor {
  name: string;
  datatype: string;
  shape: string[];
  parameters?: GrpcParameters;
  contents?: GrpcContents | null;
}

export interface GrpcInferRequest {
  model_name: string;
  model_version: string;
  id: string;
  parameters?: GrpcParameters;
  inputs: GrpcInputTensor[];
  outputs: Array<{ name: string; parameters?: GrpcParameters }>;
  raw_input_contents: Buffer[];
}

const CONTENTS_FIELD: Record<Exclude<Datatype, 'FP16'>, keyof GrpcContents> = {
  BOOL: 'bool_contents', INT8: 'int_contents', INT16: 'int_contents', INT32: 'int_contents', INT64: 'int64_contents',
  UINT8: 'uint_contents', UINT16: 'uint_contents', UINT32: 'uint_contents', UINT64: 'uint64_contents',
  FP32: 'fp32_contents', FP64: 'fp64_contents', BYTES: 'bytes_contents',
};

export function fromGrpcParameters(p: GrpcParameters | undefined): Parameters | undefined {
  if (!p) return undefined;
  const out: Parameters = {};
  for (const [k, v] of Object.entries(p)) {
    const choice = v.parameter_choice;
    if (choice === 'int64_param' || choice === 'uint64_param') out[k] = Number(v[choice]);
    else if (choice) out[k] = v[choice]!;
  }
  return Object.keys(out).length ? out : undefined;
}

export function toGrpcParameters(p: Parameters | undefined): GrpcParameters {
  const out: GrpcParameters = {};
  for (const [k, v] of Object.entries(p ?? {})) {
    if (typeof v === 'boolean') out[k] = { bool_param: v };
    else if (typeof v === 'string') out[k] = { string_param: v };
    else if (Number.isInteger(v)) out[k] = { int64_param: String(v) };
    else out[k] = { double_param: v };
  }
  return out;
}

function contentsData(datatype: Datatype, contents: GrpcContents | null | undefined, count: number, field: string): TensorData {
  if (datatype === 'FP16') throw invalidInput(`${field}: FP16 data must be sent in raw_input_contents`, field);
  const values = (contents?.[CONTENTS_FIELD[datatype]] ?? []) as unknown[];
  if (values.length !== count) throw invalidInput(`${field}: ${values.length} values in ${CONTENTS_FIELD[datatype]} do not match the shape (${count} elements)`, field);
  if (datatype === 'BYTES') return (values as Buffer[]).map((b) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
  if (datatype === 'INT64' || datatype === 'UINT64') return fromValues(datatype, (values as string[]).map((s) => BigInt(s)), field);
  return fromValues(datatype, values, field);
}

const MAX_RANK = 32;

function hasContents(c: GrpcContents | null | undefined): boolean {
  return !!c && Object.values(c).some((v) => Array.isArray(v) && v.length > 0);
}

/** A view of the message's bytes: copying them would double a large request's memory. */
function bytesView(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

export function decodeGrpcRequest(msg: GrpcInferRequest, limits: Limits): InferRequest {
  const raw = msg.raw_input_contents ?? [];
  if (raw.length && raw.length !== msg.inputs.length) {
    throw invalidInput(`raw_input_contents has ${raw.length} entries for ${msg.inputs.length} inputs`, 'raw_input_contents');
  }
  if (!msg.inputs.length) throw invalidInput('inputs: at least one input is required', 'inputs');
  if (raw.length) {
    // The protocol allows one or the other; taking either silently would hide a client bug.
    const both = msg.inputs.findIndex((t) => hasContents(t.contents));
    if (both >= 0) throw invalidInput(`inputs[${both}].contents: a request with raw_input_contents must not also carry typed contents`, `inputs[${both}].contents`);
  }
  const inputs = msg.inputs.map((t, i): Tensor => {
    const field = `inputs[${i}]`;
    if (!t.name) throw invalidInput(`${field}.name: required`, `${field}.name`);
    if (!isDatatype(t.datatype)) throw invalidInput(`${field}.datatype: ${quote(t.datatype)} is not a V2 datatype`, `${field}.datatype`);
    if (t.shape.length > MAX_RANK) throw invalidInput(`${field}.shape: more than ${MAX_RANK} dimensions`, `${field}.shape`);
    const shape = t.shape.map(Number);
    if (shape.some((d) => !Number.isSafeInteger(d) || d < 0)) throw invalidInput(`${field}.shape: dimensions must be non-negative integers`, `${field}.shape`);
    const count = elementCount(shape);
    if (count > limits.maxTensorElements) throw invalidInput(`${field}.shape: ${count} elements exceed the limit of ${limits.maxTensorElements}`, `${field}.shape`);
    checkBytesCount(t.datatype, count, `${field}.shape`, limits);
    const data = raw.length ? decodeRaw(t.datatype, bytesView(raw[i]!), count, field) : contentsData(t.datatype, t.contents, count, field);
    const tensor: Tensor = { name: t.name, datatype: t.datatype, shape, data };
    const params = fromGrpcParameters(t.parameters);
    if (params) tensor.parameters = params;
    return tensor;
  });
  const req: InferRequest = { inputs };
  if (msg.id) req.id = msg.id;
  const params = fromGrpcParameters(msg.parameters);
  if (params) req.parameters = params;
  if (msg.outputs?.length) req.outputs = msg.outputs.map((o) => ({ name: o.name }));
  return req;
}

/** Outputs go back as raw bytes when the request sent raw bytes, else as typed contents. */
export function encodeGrpcResponse(res: InferResponse, raw: boolean): Record<string, unknown> {
  const outputs = res.outputs.map((t) => {
    const base: Record<string, unknown> = { name: t.name, datatype: t.datatype, shape: t.shape.map(String), parameters: toGrpcParameters(t.parameters) };
    if (!raw && t.datatype !== 'FP16') base.contents = { [CONTENTS_FIELD[t.datatype]]: contentsValues(t) };
    return base;
  });
  const msg: Record<string, unknown> = {
    model_name: res.modelName,
    model_version: res.modelVersion ?? '',
    id: res.id ?? '',
    parameters: toGrpcParameters(res.parameters),
    outputs,
  };
  // FP16 has no typed field, so any FP16 output forces raw contents for all outputs.
  if (raw || res.outputs.some((t) => t.datatype === 'FP16')) {
    msg.raw_output_contents = res.outputs.map((t) => Buffer.from(encodeRaw(t.datatype, t.data)));
    for (const o of outputs) delete o.contents;
  }
  return msg;
}

function contentsValues(t: Tensor): unknown[] {
  switch (t.datatype) {
    case 'BOOL': return Array.from(t.data as Uint8Array, (v) => v !== 0);
    case 'BYTES': return (t.data as Uint8Array[]).map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength));
    case 'INT64': case 'UINT64': return Array.from(t.data as BigInt64Array, String);
    default: return Array.from(t.data as Float32Array);
  }
}

export function specToGrpc(s: TensorSpec): Record<string, unknown> {
  return { name: s.name, datatype: s.datatype, shape: s.shape.map(String) };
}
