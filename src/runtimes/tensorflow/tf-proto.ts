import protobuf from 'protobufjs';

/**
 * The few TensorFlow protobuf messages a SavedModel loader needs, written for the purpose
 * (field numbers from tensorflow/core/framework/*.proto and protobuf/meta_graph.proto,
 * saved_model.proto, saved_object_graph.proto, tensor_bundle.proto). Unknown fields are
 * skipped by the decoder, so messages list only what inferd reads.
 */
const SCHEMA = `
syntax = "proto3";
package tf;

enum DataType {
  DT_INVALID = 0; DT_FLOAT = 1; DT_DOUBLE = 2; DT_INT32 = 3; DT_UINT8 = 4; DT_INT16 = 5; DT_INT8 = 6;
  DT_STRING = 7; DT_COMPLEX64 = 8; DT_INT64 = 9; DT_BOOL = 10; DT_QINT8 = 11; DT_QUINT8 = 12; DT_QINT32 = 13;
  DT_BFLOAT16 = 14; DT_QINT16 = 15; DT_QUINT16 = 16; DT_UINT16 = 17; DT_COMPLEX128 = 18; DT_HALF = 19;
  DT_RESOURCE = 20; DT_VARIANT = 21; DT_UINT32 = 22; DT_UINT64 = 23;
  DT_FLOAT_REF = 101; DT_DOUBLE_REF = 102; DT_INT32_REF = 103; DT_UINT8_REF = 104; DT_INT16_REF = 105;
  DT_INT8_REF = 106; DT_STRING_REF = 107; DT_COMPLEX64_REF = 108; DT_INT64_REF = 109; DT_BOOL_REF = 110;
  DT_HALF_REF = 119; DT_RESOURCE_REF = 120; DT_UINT32_REF = 122; DT_UINT64_REF = 123;
}

message TensorShapeProto {
  message Dim { int64 size = 1; string name = 2; }
  repeated Dim dim = 2;
  bool unknown_rank = 3;
}

message TensorProto {
  DataType dtype = 1;
  TensorShapeProto tensor_shape = 2;
  int32 version_number = 3;
  bytes tensor_content = 4;
  repeated int32 half_val = 13 [packed = true];
  repeated float float_val = 5 [packed = true];
  repeated double double_val = 6 [packed = true];
  repeated int32 int_val = 7 [packed = true];
  repeated bytes string_val = 8;
  repeated int64 int64_val = 10 [packed = true];
  repeated bool bool_val = 11 [packed = true];
  repeated uint32 uint32_val = 16 [packed = true];
  repeated uint64 uint64_val = 17 [packed = true];
}

message NameAttrList {
  string name = 1;
  map<string, AttrValue> attr = 2;
}

message AttrValue {
  message ListValue {
    repeated bytes s = 2;
    repeated int64 i = 3 [packed = true];
    repeated float f = 4 [packed = true];
    repeated bool b = 5 [packed = true];
    repeated DataType type = 6 [packed = true];
    repeated TensorShapeProto shape = 7;
    repeated TensorProto tensor = 8;
    repeated NameAttrList func = 9;
  }
  oneof value {
    bytes s = 2;
    int64 i = 3;
    float f = 4;
    bool b = 5;
    DataType type = 6;
    TensorShapeProto shape = 7;
    TensorProto tensor = 8;
    ListValue list = 1;
    NameAttrList func = 10;
    string placeholder = 9;
  }
}

message NodeDef {
  string name = 1;
  string op = 2;
  repeated string input = 3;
  string device = 4;
  map<string, AttrValue> attr = 5;
}

message OpDef {
  message ArgDef {
    string name = 1;
    DataType type = 3;
    string type_attr = 4;
    string number_attr = 5;
    string type_list_attr = 6;
  }
  string name = 1;
  repeated ArgDef input_arg = 2;
  repeated ArgDef output_arg = 3;
}

message FunctionDef {
  OpDef signature = 1;
  map<string, AttrValue> attr = 5;
  repeated NodeDef node_def = 3;
  map<string, string> ret = 4;
  map<string, string> control_ret = 6;
}

message FunctionDefLibrary {
  repeated FunctionDef function = 1;
}

message VersionDef {
  int32 producer = 1;
  int32 min_consumer = 2;
}

message GraphDef {
  repeated NodeDef node = 1;
  FunctionDefLibrary library = 2;
  VersionDef versions = 4;
}

message TensorInfo {
  string name = 1;
  DataType dtype = 2;
  TensorShapeProto tensor_shape = 3;
}

message SignatureDef {
  map<string, TensorInfo> inputs = 1;
  map<string, TensorInfo> outputs = 2;
  string method_name = 3;
}

message MetaInfoDef {
  string meta_graph_version = 1;
  repeated string tags = 4;
  string tensorflow_version = 5;
}

message SaverDef {
  string filename_tensor_name = 1;
  string save_tensor_name = 2;
  string restore_op_name = 3;
}

message MetaGraphDef {
  MetaInfoDef meta_info_def = 1;
  GraphDef graph_def = 2;
  SaverDef saver_def = 3;
  map<string, SignatureDef> signature_def = 5;
}

message SavedModel {
  int64 saved_model_schema_version = 1;
  repeated MetaGraphDef meta_graphs = 2;
}

message TensorSliceProto {
  message Extent { int64 start = 1; int64 length = 2; }
  repeated Extent extent = 1;
}

message BundleHeaderProto {
  int32 num_shards = 1;
  enum Endianness { LITTLE = 0; BIG = 1; }
  Endianness endianness = 2;
  VersionDef version = 3;
}

message BundleEntryProto {
  DataType dtype = 1;
  TensorShapeProto shape = 2;
  int32 shard_id = 3;
  int64 offset = 4;
  int64 size = 5;
  fixed32 crc32c = 6;
  repeated TensorSliceProto slices = 7;
}
`;

const root = protobuf.parse(SCHEMA, { keepCase: true }).root;

// ---- Plain-object views of the decoded messages (snake_case as in the .proto). ----

export interface ShapeProto { dim?: Array<{ size?: number | Long; name?: string }>; unknown_rank?: boolean }
export interface TensorProtoMsg {
  dtype?: number;
  tensor_shape?: ShapeProto;
  tensor_content?: Uint8Array;
  half_val?: number[];
  float_val?: number[];
  double_val?: number[];
  int_val?: number[];
  string_val?: Uint8Array[];
  int64_val?: Array<number | Long>;
  bool_val?: boolean[];
  uint32_val?: number[];
  uint64_val?: Array<number | Long>;
}
export interface NameAttrListMsg { name?: string; attr?: Record<string, AttrValueMsg> }
export interface AttrValueMsg {
  s?: Uint8Array;
  i?: number | Long;
  f?: number;
  b?: boolean;
  type?: number;
  shape?: ShapeProto;
  tensor?: TensorProtoMsg;
  list?: {
    s?: Uint8Array[]; i?: Array<number | Long>; f?: number[]; b?: boolean[]; type?: number[];
    shape?: ShapeProto[]; tensor?: TensorProtoMsg[]; func?: NameAttrListMsg[];
  };
  func?: NameAttrListMsg;
  placeholder?: string;
  value?: string;
}
export interface NodeDefMsg { name: string; op: string; input: string[]; device?: string; attr: Record<string, AttrValueMsg> }
export interface ArgDefMsg { name: string; type?: number; type_attr?: string; number_attr?: string; type_list_attr?: string }
export interface FunctionDefMsg {
  signature: { name: string; input_arg: ArgDefMsg[]; output_arg: ArgDefMsg[] };
  attr?: Record<string, AttrValueMsg>;
  node_def: NodeDefMsg[];
  ret: Record<string, string>;
}
export interface GraphDefMsg { node: NodeDefMsg[]; library?: { function: FunctionDefMsg[] }; versions?: { producer?: number } }
export interface TensorInfoMsg { name?: string; dtype?: number; tensor_shape?: ShapeProto }
export interface SignatureDefMsg { inputs: Record<string, TensorInfoMsg>; outputs: Record<string, TensorInfoMsg>; method_name?: string }
export interface MetaGraphDefMsg {
  meta_info_def?: { tags?: string[]; tensorflow_version?: string };
  graph_def?: GraphDefMsg;
  saver_def?: { filename_tensor_name?: string; restore_op_name?: string };
  signature_def: Record<string, SignatureDefMsg>;
}
export interface SavedModelMsg { meta_graphs: MetaGraphDefMsg[] }
export interface BundleEntryMsg {
  dtype?: number;
  shape?: ShapeProto;
  shard_id?: number;
  offset?: number | Long;
  size?: number | Long;
  crc32c?: number;
  slices?: unknown[];
}
export interface BundleHeaderMsg { num_shards?: number; endianness?: number }
type Long = { low: number; high: number; unsigned: boolean; toNumber(): number };

const DECODE = { defaults: false, arrays: true, objects: true, longs: Number } as const;

function decode<T>(type: string, bytes: Uint8Array): T {
  const t = root.lookupType(type);
  return t.toObject(t.decode(bytes), { ...DECODE, oneofs: true }) as T;
}

export const decodeSavedModel = (b: Uint8Array): SavedModelMsg => decode<SavedModelMsg>('tf.SavedModel', b);
export const decodeBundleEntry = (b: Uint8Array): BundleEntryMsg => decode<BundleEntryMsg>('tf.BundleEntryProto', b);
export const decodeBundleHeader = (b: Uint8Array): BundleHeaderMsg => decode<BundleHeaderMsg>('tf.BundleHeaderProto', b);

export function encodeMessage(type: string, value: Record<string, unknown>): Uint8Array {
  const t = root.lookupType(type);
  const err = t.verify(value);
  if (err) throw new Error(`${type}: ${err}`);
  return t.encode(t.fromObject(value)).finish();
}

/** `tf.DataType` enum: number → `DT_FLOAT` and back. */
const DT = root.lookupEnum('tf.DataType');
export function dtypeName(n: number | undefined): string {
  return DT.valuesById[n ?? 0] ?? `DT_${n}`;
}
export function dtypeNumber(name: string): number {
  const n = DT.values[name];
  if (n === undefined) throw new Error(`unknown TensorFlow dtype ${name}`);
  return n;
}

export function num(v: number | Long | undefined): number {
  if (v === undefined) return 0;
  return typeof v === 'number' ? v : v.toNumber();
}

export function shapeDims(s: ShapeProto | undefined): number[] | undefined {
  if (!s || s.unknown_rank) return undefined;
  return (s.dim ?? []).map((d) => num(d.size));
}
