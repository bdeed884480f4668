import type { Datatype } from '../../api/datatype.js';
import type { TensorSpec } from '../../api/inference.js';
import type { ModelSignature } from '../../runtimes/types.js';

/** V2 datatypes as TensorFlow's DataType enum names them. */
const TF_DTYPES: Record<Datatype, string> = {
  BOOL: 'DT_BOOL',
  UINT8: 'DT_UINT8',
  UINT16: 'DT_UINT16',
  UINT32: 'DT_UINT32',
  UINT64: 'DT_UINT64',
  INT8: 'DT_INT8',
  INT16: 'DT_INT16',
  INT32: 'DT_INT32',
  INT64: 'DT_INT64',
  FP16: 'DT_HALF',
  FP32: 'DT_FLOAT',
  FP64: 'DT_DOUBLE',
  BYTES: 'DT_STRING',
};

export interface TfServingModel {
  name: string;
  ready: boolean;
  version: string;
  signatures: Readonly<Record<string, ModelSignature>>;
}

/** `GET /v1/models/NAME`: TF Serving's GetModelStatus, plus KServe V1's `name`/`ready`. */
export function tfModelStatus(m: TfServingModel): unknown {
  return {
    name: m.name,
    ready: m.ready,
    model_version_status: [{ version: m.version, state: m.ready ? 'AVAILABLE' : 'LOADING', status: { error_code: 'OK', error_message: '' } }],
  };
}

function tensorInfo(t: TensorSpec): unknown {
  return { dtype: TF_DTYPES[t.datatype], tensor_shape: { dim: t.shape.map((d) => ({ size: String(d), name: '' })), unknown_rank: false } };
}

/** `GET /v1/models/NAME/metadata`: TF Serving's GetModelMetadata with the signature definitions. */
export function tfModelMetadata(m: TfServingModel): unknown {
  const defs: Record<string, unknown> = {};
  for (const [name, sig] of Object.entries(m.signatures)) {
    defs[name] = {
      inputs: Object.fromEntries(sig.inputs.map((t) => [t.name, tensorInfo(t)])),
      outputs: Object.fromEntries(sig.outputs.map((t) => [t.name, tensorInfo(t)])),
      method_name: 'tensorflow/serving/predict',
    };
  }
  return { model_spec: { name: m.name, signature_name: '', version: m.version }, metadata: { signature_def: { signature_def: defs } } };
}
