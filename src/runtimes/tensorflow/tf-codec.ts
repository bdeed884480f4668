import { InferdError, invalidInput } from '../../api/errors.js';
import type { Datatype, TensorData } from '../../api/datatype.js';
import type { Tensor } from '../../api/inference.js';
import { jsDtype } from './tf-tensors.js';
import { tf } from './tfjs-engine.js';

/** TensorFlow dtype → Open Inference Protocol datatype (what clients see and send). */
const V2: Record<string, Datatype> = {
  DT_FLOAT: 'FP32', DT_DOUBLE: 'FP64', DT_INT32: 'INT32', DT_INT64: 'INT64', DT_INT16: 'INT16', DT_INT8: 'INT8',
  DT_UINT8: 'UINT8', DT_UINT16: 'UINT16', DT_UINT32: 'UINT32', DT_BOOL: 'BOOL', DT_STRING: 'BYTES',
};

export function v2Datatype(tfDtype: string): Datatype | undefined {
  return V2[tfDtype];
}

const INT32_MIN = -2147483648n;
const INT32_MAX = 2147483647n;

/** A request tensor as TF.js holds it; INT64/UINT32 values outside int32 are refused. */
export function toTf(t: Tensor, tfDtype: string): tf.Tensor {
  const dtype = jsDtype(tfDtype);
  if (!dtype) throw new InferdError('internal', `no TF.js dtype for ${tfDtype}`);
  if (dtype === 'string') return tf.tensor(t.data as Uint8Array[], t.shape, 'string');
  if (dtype === 'bool') return tf.tensor(Uint8Array.from(t.data as Uint8Array), t.shape, 'bool');
  if (dtype === 'float32') return tf.tensor(t.data instanceof Float32Array ? t.data : Float32Array.from(t.data as Float64Array), t.shape, 'float32');
  const d = t.data;
  if (d instanceof Int32Array) return tf.tensor(d, t.shape, 'int32');
  const out = new Int32Array(d.length);
  if (d instanceof BigInt64Array || d instanceof BigUint64Array) {
    for (let i = 0; i < d.length; i++) {
      const v = d[i]!;
      if (v < INT32_MIN || v > INT32_MAX) {
        throw invalidInput(`input "${t.name}": value ${v} at index ${i} does not fit in int32, which TensorFlow.js computes ${t.datatype} in (range ${INT32_MIN}..${INT32_MAX})`, 'data');
      }
      out[i] = Number(v);
    }
  } else {
    const n = d as Uint32Array;
    for (let i = 0; i < n.length; i++) {
      const v = n[i]!;
      if (v > 2147483647) throw invalidInput(`input "${t.name}": value ${v} at index ${i} does not fit in int32, which TensorFlow.js computes ${t.datatype} in`, 'data');
      out[i] = v;
    }
  }
  return tf.tensor(out, t.shape, 'int32');
}

/** A TF.js result in the signature's declared datatype (int32 → INT64 widens, float32 → FP64). */
export async function fromTf(name: string, x: tf.Tensor, tfDtype: string): Promise<Tensor> {
  const datatype = v2Datatype(tfDtype) ?? 'FP32';
  const raw = await x.data();
  let data: TensorData;
  switch (datatype) {
    case 'BYTES': data = (raw as unknown as Uint8Array[]).map((b) => (typeof b === 'string' ? new TextEncoder().encode(b) : b)); break;
    case 'INT64': data = BigInt64Array.from(raw as Int32Array, (v) => BigInt(v)); break;
    case 'UINT64': data = BigUint64Array.from(raw as Int32Array, (v) => BigInt(v)); break;
    case 'FP64': data = Float64Array.from(raw as Float32Array); break;
    case 'FP32': data = raw instanceof Float32Array ? raw : Float32Array.from(raw as Int32Array); break;
    case 'INT32': data = raw instanceof Int32Array ? raw : Int32Array.from(raw as Float32Array); break;
    case 'INT16': data = Int16Array.from(raw as Int32Array); break;
    case 'INT8': data = Int8Array.from(raw as Int32Array); break;
    case 'UINT8': data = Uint8Array.from(raw as Int32Array); break;
    case 'UINT16': data = Uint16Array.from(raw as Int32Array); break;
    case 'UINT32': data = Uint32Array.from(raw as Int32Array); break;
    case 'BOOL': data = Uint8Array.from(raw as Uint8Array); break;
    default: data = Float32Array.from(raw as Float32Array);
  }
  return { name, datatype, shape: x.shape.slice(), data };
}
