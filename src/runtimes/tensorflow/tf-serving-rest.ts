import { invalidInput } from '../../api/errors.js';
import type { Datatype, TensorData } from '../../api/datatype.js';
import type { Tensor, TensorSpec } from '../../api/inference.js';
import type { CompiledSignature } from './compiled-signature.js';

/**
 * TF Serving's REST predict API (https://www.tensorflow.org/tfx/serving/api_rest) as KServe's
 * TensorFlow runtime exposes it: `signature_name`, row format (`instances`, answered with
 * `predictions`) and columnar format (`inputs`, answered with `outputs`). Binary strings
 * travel as `{"b64": "..."}`.
 */

export interface SignatureSource {
  signature(name: string | undefined): CompiledSignature;
}

type Json = unknown;
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder('utf-8', { fatal: true });

function isB64(v: Json): v is { b64: string } {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && typeof (v as { b64?: unknown }).b64 === 'string' && Object.keys(v).length === 1;
}
function isObject(v: Json): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !isB64(v);
}

/** Shape and leaves of a nested JSON array (rectangular, or an error naming the field). */
function flatten(v: Json, field: string): { shape: number[]; leaves: Json[] } {
  const shape: number[] = [];
  let cur = v;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    if (cur.length === 0) break;
    cur = cur[0];
  }
  const leaves: Json[] = [];
  const walk = (x: Json, depth: number, path: string): void => {
    if (depth === shape.length) {
      if (Array.isArray(x)) throw invalidInput(`${path} is nested deeper than its siblings`, field);
      leaves.push(x);
      return;
    }
    if (!Array.isArray(x) || x.length !== shape[depth]) throw invalidInput(`${path} is not rectangular: expected ${shape[depth]} elements at depth ${depth}`, field);
    x.forEach((e, i) => walk(e, depth + 1, `${path}[${i}]`));
  };
  walk(v, 0, field);
  return { shape, leaves };
}

function leavesToData(leaves: Json[], dt: Datatype, field: string): TensorData {
  const bad = (i: number, want: string) => invalidInput(`${field}: element ${i} (${JSON.stringify(leaves[i])?.slice(0, 40)}) is not ${want}`, field);
  switch (dt) {
    case 'BYTES':
      return leaves.map((x, i) => {
        if (typeof x === 'string') return utf8.encode(x);
        if (isB64(x)) return new Uint8Array(Buffer.from(x.b64, 'base64'));
        throw bad(i, 'a string or {"b64": ...}');
      });
    case 'BOOL':
      return Uint8Array.from(leaves, (x, i) => {
        if (typeof x !== 'boolean') throw bad(i, 'a boolean');
        return x ? 1 : 0;
      });
    case 'INT64': case 'UINT64':
    {
      const out = dt === 'INT64' ? new BigInt64Array(leaves.length) : new BigUint64Array(leaves.length);
      leaves.forEach((x, i) => {
        if (typeof x !== 'number' || !Number.isSafeInteger(x)) throw bad(i, 'an integer (within ±2^53 in JSON)');
        if (dt === 'UINT64' && x < 0) throw bad(i, 'a non-negative integer');
        out[i] = BigInt(x);
      });
      return out;
    }
    case 'FP32': case 'FP64': {
      const out = dt === 'FP32' ? new Float32Array(leaves.length) : new Float64Array(leaves.length);
      leaves.forEach((x, i) => {
        if (typeof x === 'number') out[i] = x;
        else if (x === 'NaN') out[i] = NaN;
        else if (x === 'Infinity' || x === '-Infinity') out[i] = x === 'Infinity' ? Infinity : -Infinity;
        else throw bad(i, 'a number');
      });
      return out;
    }
    default: {
      const ranges: Record<string, [number, number, Int32ArrayConstructor | Int16ArrayConstructor | Int8ArrayConstructor | Uint8ArrayConstructor | Uint16ArrayConstructor | Uint32ArrayConstructor]> = {
        INT32: [-2147483648, 2147483647, Int32Array], INT16: [-32768, 32767, Int16Array], INT8: [-128, 127, Int8Array],
        UINT8: [0, 255, Uint8Array], UINT16: [0, 65535, Uint16Array], UINT32: [0, 4294967295, Uint32Array],
      };
      const [lo, hi, Ctor] = ranges[dt] ?? ranges.INT32!;
      const out = new Ctor(leaves.length);
      leaves.forEach((x, i) => {
        if (typeof x !== 'number' || !Number.isInteger(x) || x < lo || x > hi) throw bad(i, `an integer in ${dt}'s range ${lo}..${hi}`);
        out[i] = x;
      });
      return out;
    }
  }
}

function toTensor(spec: TensorSpec, value: Json, field: string): Tensor {
  const { shape, leaves } = flatten(value, field);
  return { name: spec.name, datatype: spec.datatype, shape, data: leavesToData(leaves, spec.datatype, field) };
}

function stack(spec: TensorSpec, rows: Json[], field: string): Tensor {
  let inner: number[] | undefined;
  const all: Json[] = [];
  rows.forEach((r, i) => {
    const { shape, leaves } = flatten(r, `${field}[${i}]`);
    if (inner && (inner.length !== shape.length || inner.some((d, k) => d !== shape[k]))) {
      throw invalidInput(`${field}[${i}] has shape [${shape.join(',')}] but instance 0 has [${inner.join(',')}]; every instance must have the same shape`, field);
    }
    inner = shape;
    all.push(...leaves);
  });
  return { name: spec.name, datatype: spec.datatype, shape: [rows.length, ...(inner ?? [])], data: leavesToData(all, spec.datatype, field) };
}

function element(t: Tensor, i: number): Json {
  const d = t.data;
  if (t.datatype === 'BYTES') {
    const b = (d as Uint8Array[])[i]!;
    try {
      return fromUtf8.decode(b);
    } catch {
      return { b64: Buffer.from(b).toString('base64') };
    }
  }
  const v = (d as ArrayLike<number | bigint>)[i]!;
  if (t.datatype === 'BOOL') return v !== 0;
  if (typeof v === 'bigint') return Number(v);
  return Number.isFinite(v) ? v : String(v);
}

/** Nested JSON of a tensor, or of the slice at `row` along dimension 0. */
function nest(t: Tensor, row?: number): Json {
  const shape = row === undefined ? t.shape : t.shape.slice(1);
  const size = shape.reduce((a, b) => a * b, 1);
  let offset = row === undefined ? 0 : row * size;
  const build = (depth: number): Json => {
    if (depth === shape.length) return element(t, offset++);
    const out: Json[] = [];
    for (let i = 0; i < shape[depth]!; i++) out.push(build(depth + 1));
    return out;
  };
  return build(0);
}

export async function predictTfServing(model: SignatureSource, body: unknown): Promise<unknown> {
  if (!isObject(body)) throw invalidInput('the request body must be a JSON object with "instances" or "inputs"');
  const signatureName = body.signature_name;
  if (signatureName !== undefined && typeof signatureName !== 'string') throw invalidInput('"signature_name" must be a string', 'signature_name');
  const sig = model.signature(signatureName);
  const hasInstances = 'instances' in body;
  const hasInputs = 'inputs' in body;
  if (hasInstances === hasInputs) throw invalidInput('the request needs exactly one of "instances" (row format) or "inputs" (columnar format)');
  const specs = sig.inputs;
  const named = (obj: Record<string, Json>, field: string, make: (spec: TensorSpec, v: Json, f: string) => Tensor): Tensor[] => {
    for (const k of Object.keys(obj)) {
      if (!specs.some((s) => s.name === k)) throw invalidInput(`unknown input "${k}" in ${field}; signature "${sig.name}" takes ${specs.map((s) => `"${s.name}"`).join(', ')}`, field);
    }
    return specs.map((s) => {
      if (!(s.name in obj)) throw invalidInput(`missing input "${s.name}" in ${field} (signature "${sig.name}")`, field);
      return make(s, obj[s.name], `${field}.${s.name}`);
    });
  };
  let inputs: Tensor[];
  if (hasInstances) {
    const rows = body.instances;
    if (!Array.isArray(rows) || rows.length === 0) throw invalidInput('"instances" must be a non-empty list', 'instances');
    if (rows.every(isObject)) {
      inputs = specs.map((s) => {
        const vals = rows.map((r, i) => {
          const o = r as Record<string, Json>;
          for (const k of Object.keys(o)) if (!specs.some((x) => x.name === k)) throw invalidInput(`unknown input "${k}" in instances[${i}]; signature "${sig.name}" takes ${specs.map((x) => `"${x.name}"`).join(', ')}`, 'instances');
          if (!(s.name in o)) throw invalidInput(`instances[${i}] lacks input "${s.name}"`, 'instances');
          return o[s.name];
        });
        return stack(s, vals, `instances.${s.name}`);
      });
    } else {
      if (specs.length !== 1) throw invalidInput(`signature "${sig.name}" takes ${specs.length} inputs; send each instance as an object {${specs.map((s) => `"${s.name}": ...`).join(', ')}}`, 'instances');
      inputs = [stack(specs[0]!, rows, 'instances')];
    }
  } else {
    const v = body.inputs;
    if (isObject(v)) inputs = named(v, 'inputs', toTensor);
    else if (specs.length === 1) inputs = [toTensor(specs[0]!, v, 'inputs')];
    else throw invalidInput(`signature "${sig.name}" takes ${specs.length} inputs; send "inputs" as an object {${specs.map((s) => `"${s.name}": ...`).join(', ')}}`, 'inputs');
  }
  // Like TF Serving, shapes are not checked against the signature here: the graph decides.
  const outputs = await sig.run(inputs, sig.outputs.map((o) => o.name));
  if (hasInstances) {
    const n = outputs[0]?.shape[0] ?? 0;
    for (const o of outputs) {
      if (o.shape.length === 0 || o.shape[0] !== n) throw invalidInput(`output "${o.name}" has no batch dimension of ${n}; use the columnar "inputs" format for this signature`);
    }
    const predictions: Json[] = [];
    for (let i = 0; i < n; i++) {
      if (outputs.length === 1) predictions.push(nest(outputs[0]!, i));
      else predictions.push(Object.fromEntries(outputs.map((o) => [o.name, nest(o, i)])));
    }
    return { predictions };
  }
  if (outputs.length === 1) return { outputs: nest(outputs[0]!) };
  return { outputs: Object.fromEntries(outputs.map((o) => [o.name, nest(o)])) };
}
