import { InferdError, invalidInput, quote } from '../../api/errors.js';
import { isDatatype } from '../../api/datatype.js';
import { elementCount, type InferRequest, type InferResponse, type Parameters, type RequestedOutput, type Tensor } from '../../api/inference.js';
import { flatten, fromValues, toValues } from '../tensor-values.js';
import { decodeRaw, encodeRaw } from './binary-tensor.js';
import { JsonNumbers } from './json-body.js';
import { NestingCheck } from '../nesting.js';

const MAX_RANK = 32;

export interface Limits {
  /** Upper bound on elements in one tensor, so a shape cannot ask for unbounded memory. */
  maxTensorElements: number;
  /** Upper bound on elements of one BYTES tensor (config `limits.maxBytesElements`). */
  maxBytesElements: number;
}

/** A BYTES tensor allocates an object per element: its shape is held to the lower limit. */
export function checkBytesCount(datatype: string, count: number, field: string, limits: Limits): void {
  if (datatype === 'BYTES' && count > limits.maxBytesElements) {
    throw new InferdError('too_large', `${field}: ${count} BYTES elements exceed the limit of ${limits.maxBytesElements}`, { field });
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parameters(v: unknown, field: string): Parameters | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) throw invalidInput(`${field}: expected an object`, field);
  for (const [k, val] of Object.entries(v)) {
    if (!['string', 'number', 'boolean'].includes(typeof val)) throw invalidInput(`${field}.${k}: expected a string, number or boolean`, `${field}.${k}`);
  }
  return v as Parameters;
}

function shapeOf(v: unknown, field: string, limits: Limits): number[] {
  if (!Array.isArray(v) || v.length > MAX_RANK) throw invalidInput(`${field}: expected an array of at most ${MAX_RANK} dimensions`, field);
  let count = 1;
  for (const d of v) {
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0) throw invalidInput(`${field}: dimensions must be non-negative integers, got ${quote(d)}`, field);
    count *= d;
  }
  if (count > limits.maxTensorElements) throw invalidInput(`${field}: ${count} elements exceed the limit of ${limits.maxTensorElements}`, field);
  return v as number[];
}

/**
 * Tensor data, flat: one JsonNumbers when the request parser read every row (within the
 * rank) as numbers, else plain values for the general path and its messages.
 */
function flatData(data: unknown, rank: number, field: string): JsonNumbers | unknown[] {
  if (data instanceof JsonNumbers) return data;
  const parts: JsonNumbers[] = [];
  let rows = true;
  const nesting = new NestingCheck(field);
  const walk = (v: unknown, depth: number): void => {
    if (v instanceof JsonNumbers) {
      nesting.array(depth - 1, v.length);
      if (v.length > 0) nesting.leaf(depth);
      parts.push(v);
      if (depth > rank) rows = false;
    } else if (Array.isArray(v) && v.length > 0) {
      nesting.array(depth - 1, v.length);
      for (const x of v) walk(x, depth + 1);
    } else rows = false;
  };
  walk(data, 1);
  if (rows && parts.length > 0) return JsonNumbers.concat(parts);
  return flatten(parts.length > 0 ? plainArrays(data) : data, rank, field);
}

/** Data mixing runs of numbers with other values, as plain arrays. */
function plainArrays(data: unknown): unknown {
  if (data instanceof JsonNumbers) return Array.from(data.exactValues());
  return Array.isArray(data) ? data.map(plainArrays) : data;
}

/**
 * Decodes a V2 inference request body. `binary` is the part after the JSON header
 * when the binary tensor data extension is used.
 */
export function decodeInferRequest(body: unknown, binary: Uint8Array | undefined, limits: Limits): InferRequest {
  if (!isObject(body)) throw invalidInput('request body must be a JSON object', 'body');
  const { id, inputs, outputs } = body;
  if (id !== undefined && typeof id !== 'string') throw invalidInput('id: expected a string', 'id');
  if (!Array.isArray(inputs) || inputs.length === 0) throw invalidInput('inputs: expected a non-empty array', 'inputs');
  let offset = 0;
  const decoded: Tensor[] = inputs.map((raw: unknown, i) => {
    const field = `inputs[${i}]`;
    if (!isObject(raw)) throw invalidInput(`${field}: expected an object`, field);
    const { name, datatype, data } = raw;
    if (typeof name !== 'string' || name === '') throw invalidInput(`${field}.name: expected a non-empty string`, `${field}.name`);
    if (!isDatatype(datatype)) throw invalidInput(`${field}.datatype: ${quote(datatype)} is not a V2 datatype`, `${field}.datatype`);
    const shape = shapeOf(raw.shape, `${field}.shape`, limits);
    const params = parameters(raw.parameters, `${field}.parameters`);
    const count = elementCount(shape);
    checkBytesCount(datatype, count, `${field}.shape`, limits);
    const binarySize = params?.binary_data_size;
    let values;
    if (binarySize !== undefined) {
      if (typeof binarySize !== 'number' || !Number.isInteger(binarySize) || binarySize < 0) {
        throw invalidInput(`${field}.parameters.binary_data_size: expected a non-negative integer`, `${field}.parameters.binary_data_size`);
      }
      if (!binary || offset + binarySize > binary.byteLength) {
        throw invalidInput(`${field}: binary_data_size ${binarySize} runs past the end of the binary payload (${(binary?.byteLength ?? 0) - offset} bytes left)`, field);
      }
      values = decodeRaw(datatype, binary.subarray(offset, offset + binarySize), count, field);
      offset += binarySize;
    } else {
      if (data === undefined) throw invalidInput(`${field}.data: required (or parameters.binary_data_size)`, `${field}.data`);
      const flat = flatData(data, shape.length, `${field}.data`);
      if (flat.length !== count) {
        throw invalidInput(`${field}.data: ${flat.length} elements do not match shape [${shape.join(',')}] (${count} elements)`, `${field}.data`);
      }
      if (!(flat instanceof JsonNumbers)) values = fromValues(datatype, flat, `${field}.data`);
      else values = datatype === 'FP32' ? flat.toFloat32() : fromValues(datatype, flat.exactValues(), `${field}.data`);
    }
    const t: Tensor = { name, datatype, shape, data: values };
    if (params) t.parameters = params;
    return t;
  });
  if (binary && offset !== binary.byteLength) {
    throw invalidInput(`binary payload has ${binary.byteLength - offset} bytes that no input claims`, 'inputs');
  }
  const req: InferRequest = { inputs: decoded };
  if (id !== undefined) req.id = id;
  const params = parameters(body.parameters, 'parameters');
  if (params) req.parameters = params;
  if (outputs !== undefined) {
    if (!Array.isArray(outputs)) throw invalidInput('outputs: expected an array', 'outputs');
    req.outputs = outputs.map((o: unknown, i): RequestedOutput => {
      if (!isObject(o) || typeof o.name !== 'string') throw invalidInput(`outputs[${i}].name: expected a string`, `outputs[${i}].name`);
      const p = parameters(o.parameters, `outputs[${i}].parameters`);
      return p ? { name: o.name, parameters: p } : { name: o.name };
    });
  }
  return req;
}

export interface EncodedResponse {
  /** The JSON header (or the whole body when no output is binary). */
  json: string;
  /** Binary output sections, in output order, when any output is binary. */
  binary?: Uint8Array[];
}

/** Which outputs to send as binary, following the extension's request parameters. */
function wantsBinary(req: InferRequest, name: string): boolean {
  const own = req.outputs?.find((o) => o.name === name)?.parameters?.binary_data;
  if (typeof own === 'boolean') return own;
  return req.parameters?.binary_data_output === true;
}

/**
 * A numeric typed array as a JSON array, written directly: `JSON.stringify(Array.from(x))`
 * boxes every element first and costs about three times as much for a 1,000-float output.
 * Non-finite values become `null`, as JSON.stringify writes them.
 */
function numbersJson(d: ArrayLike<number>): string {
  let s = '[';
  for (let i = 0; i < d.length; i++) {
    const v = d[i]!;
    if (i > 0) s += ',';
    s += Number.isFinite(v) ? String(v) : 'null';
  }
  return `${s}]`;
}

const DIRECT_NUMBERS = new Set(['UINT8', 'UINT16', 'UINT32', 'INT8', 'INT16', 'INT32', 'FP32', 'FP64']);

function dataJson(t: Tensor): string {
  return DIRECT_NUMBERS.has(t.datatype) ? numbersJson(t.data as ArrayLike<number>) : JSON.stringify(toValues(t));
}

/** The response body, written field by field so output data skips JSON.stringify (see numbersJson). */
export function encodeInferResponse(res: InferResponse, req: InferRequest): EncodedResponse {
  const binary: Uint8Array[] = [];
  const outputs = res.outputs.map((t) => {
    const head = `{"name":${JSON.stringify(t.name)},"datatype":${JSON.stringify(t.datatype)},"shape":${JSON.stringify(t.shape)}`;
    if (wantsBinary(req, t.name)) {
      const bytes = encodeRaw(t.datatype, t.data);
      binary.push(bytes);
      return `${head},"parameters":${JSON.stringify({ ...t.parameters, binary_data_size: bytes.byteLength })}}`;
    }
    return `${head}${t.parameters ? `,"parameters":${JSON.stringify(t.parameters)}` : ''},"data":${dataJson(t)}}`;
  });
  let json = `{"model_name":${JSON.stringify(res.modelName)}`;
  if (res.modelVersion !== undefined) json += `,"model_version":${JSON.stringify(res.modelVersion)}`;
  if (res.id !== undefined) json += `,"id":${JSON.stringify(res.id)}`;
  if (res.parameters) json += `,"parameters":${JSON.stringify(res.parameters)}`;
  json += `,"outputs":[${outputs.join(',')}]}`;
  return binary.length ? { json, binary } : { json };
}
