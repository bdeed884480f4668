import type { Tensor as OrtTensor } from 'onnxruntime-node';
import type { Datatype } from '../../api/datatype.js';

type OrtType = OrtTensor.Type;

const ORT_TO_V2: Partial<Record<OrtType, Datatype>> = {
  bool: 'BOOL', uint8: 'UINT8', uint16: 'UINT16', uint32: 'UINT32', uint64: 'UINT64',
  int8: 'INT8', int16: 'INT16', int32: 'INT32', int64: 'INT64',
  float16: 'FP16', float32: 'FP32', float64: 'FP64', string: 'BYTES',
};

const V2_TO_ORT: Record<Datatype, OrtType> = {
  BOOL: 'bool', UINT8: 'uint8', UINT16: 'uint16', UINT32: 'uint32', UINT64: 'uint64',
  INT8: 'int8', INT16: 'int16', INT32: 'int32', INT64: 'int64',
  FP16: 'float16', FP32: 'float32', FP64: 'float64', BYTES: 'string',
};

export function v2Datatype(type: OrtType): Datatype | undefined {
  return ORT_TO_V2[type];
}

export function ortType(dt: Datatype): OrtType {
  return V2_TO_ORT[dt];
}
