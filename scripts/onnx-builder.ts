import onnxProto from 'onnx-proto';
import { mulberry32 } from '../src/quantize/seeded-random.js';

const { onnx } = onnxProto;

/** ONNX TensorProto.DataType numbers by V2 datatype. */
export const ONNX_TYPES = {
  FP32: 1, UINT8: 2, INT8: 3, UINT16: 4, INT16: 5, INT32: 6, INT64: 7, BYTES: 8, BOOL: 9, FP16: 10, FP64: 11, UINT32: 12, UINT64: 13,
} as const;
export type OnnxType = keyof typeof ONNX_TYPES;

export type Dim = number | string;

export function valueInfo(name: string, type: OnnxType, dims: Dim[]): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: ONNX_TYPES[type],
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

export function floatTensor(name: string, dims: number[], values: Float32Array): onnxProto.onnx.ITensorProto {
  return { name, dims, dataType: ONNX_TYPES.FP32, rawData: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) };
}

export function doubleTensor(name: string, dims: number[], values: Float64Array): onnxProto.onnx.ITensorProto {
  return { name, dims, dataType: ONNX_TYPES.FP64, rawData: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) };
}

export function int64Tensor(name: string, dims: number[], values: bigint[]): onnxProto.onnx.ITensorProto {
  const data = BigInt64Array.from(values);
  return { name, dims, dataType: ONNX_TYPES.INT64, rawData: new Uint8Array(data.buffer) };
}

export function node(opType: string, inputs: string[], outputs: string[], attrs: Record<string, number | number[]> = {}): onnxProto.onnx.INodeProto {
  const attribute = Object.entries(attrs).map(([name, v]) =>
    Array.isArray(v)
      ? { name, type: onnx.AttributeProto.AttributeType.INTS, ints: v }
      : Number.isInteger(v)
        ? { name, type: onnx.AttributeProto.AttributeType.INT, i: v }
        : { name, type: onnx.AttributeProto.AttributeType.FLOAT, f: v },
  );
  return { opType, input: inputs, output: outputs, attribute };
}

export interface GraphSpec {
  name: string;
  nodes: onnxProto.onnx.INodeProto[];
  inputs: onnxProto.onnx.IValueInfoProto[];
  outputs: onnxProto.onnx.IValueInfoProto[];
  initializers?: onnxProto.onnx.ITensorProto[];
  opset?: number;
}

export function encodeModel(g: GraphSpec): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'inferd-fixtures',
    opsetImport: [{ domain: '', version: g.opset ?? 17 }],
    graph: { name: g.name, node: g.nodes, input: g.inputs, output: g.outputs, initializer: g.initializers ?? [] },
  });
  return onnx.ModelProto.encode(model).finish();
}

/** Deterministic float32 values in [-1, 1) (mulberry32), so fixtures regenerate byte for byte. */
export function seededFloats(seed: number, count: number, scale = 1): Float32Array {
  const next = mulberry32(seed);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = (next() * 2 - 1) * scale;
  return out;
}
