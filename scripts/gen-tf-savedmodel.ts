/**
 * Writes Keras-style TF2 SavedModels the way TensorFlow 2 lays them out — a signature wrapper
 * function calling the model's function through `StatefulPartitionedCall`, `VarHandleOp`
 * variables read with `ReadVariableOp`, a `__traced_restore` function of `RestoreV2` +
 * `AssignVariableOp` named by the SaverDef, and a TensorBundle checkpoint — for an MLP
 * (Dense + ReLU + Dense + Softmax) and a small CNN (Conv2D, BatchNorm, MaxPool, Dense), with
 * reference outputs computed independently in numpy (pyenv `python3`).
 *
 * It also checks that its checkpoint writer reproduces the real fixtures' uncompressed
 * `variables.index` files byte for byte.
 *
 *   npx tsx scripts/gen-tf-savedmodel.ts   (writes test/fixtures/tensorflow/generated/)
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { crc32c, maskCrc } from '../src/runtimes/tensorflow/crc32c.js';
import { TensorBundle, TABLE_MAGIC } from '../src/runtimes/tensorflow/tensor-bundle.js';
import { dtypeNumber, encodeMessage } from '../src/runtimes/tensorflow/tf-proto.js';
import { seededFloats } from './onnx-builder.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = HERE.endsWith('/dist/scripts') ? join(HERE, '../..') : join(HERE, '..');
export const FIXTURES = join(REPO, 'test/fixtures/tensorflow');

// ---------------------------------------------------------------- checkpoint writer

function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 128) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

const enc = new TextEncoder();

/** A LevelDB block (TensorFlow's table::BlockBuilder): shared-prefix keys, restart points. */
function buildBlock(entries: Array<{ key: Uint8Array; value: Uint8Array }>, restartInterval: number): Uint8Array {
  const bytes: number[] = [];
  const restarts: number[] = [0];
  let prev: Uint8Array = new Uint8Array(0);
  entries.forEach(({ key, value }, i) => {
    let shared = 0;
    if (i % restartInterval === 0) {
      if (i > 0) restarts.push(bytes.length);
    } else {
      while (shared < prev.length && shared < key.length && prev[shared] === key[shared]) shared++;
    }
    bytes.push(...varint(shared), ...varint(key.length - shared), ...varint(value.length), ...key.subarray(shared), ...value);
    prev = key;
  });
  const out = new Uint8Array(bytes.length + 4 * restarts.length + 4);
  out.set(bytes);
  const dv = new DataView(out.buffer);
  restarts.forEach((r, i) => dv.setUint32(bytes.length + 4 * i, r, true));
  dv.setUint32(bytes.length + 4 * restarts.length, restarts.length, true);
  return out;
}

/** LevelDB's bytewise FindShortSuccessor: the first byte that can grow, incremented. */
function shortSuccessor(key: Uint8Array): Uint8Array {
  for (let i = 0; i < key.length; i++) {
    if (key[i] !== 0xff) {
      const out = key.slice(0, i + 1);
      out[i]! += 1;
      return out;
    }
  }
  return key;
}

/** A one-data-block, uncompressed LevelDB table as TensorFlow's BundleWriter writes small indexes. */
export function buildTable(entries: Array<{ key: Uint8Array; value: Uint8Array }>): Uint8Array {
  const parts: Uint8Array[] = [];
  let offset = 0;
  const writeBlock = (block: Uint8Array): { offset: number; size: number } => {
    const trailer = new Uint8Array(5);
    const crc = maskCrc(crc32c(new Uint8Array([0]), crc32c(block)));
    new DataView(trailer.buffer).setUint32(1, crc, true);
    const h = { offset, size: block.length };
    parts.push(block, trailer);
    offset += block.length + 5;
    return h;
  };
  const data = writeBlock(buildBlock(entries, 16));
  const meta = writeBlock(buildBlock([], 16));
  const last = entries[entries.length - 1]!.key;
  const index = writeBlock(buildBlock([{ key: shortSuccessor(last), value: new Uint8Array([...varint(data.offset), ...varint(data.size)]) }], 1));
  const footer = new Uint8Array(48);
  footer.set([...varint(meta.offset), ...varint(meta.size), ...varint(index.offset), ...varint(index.size)]);
  new DataView(footer.buffer).setBigUint64(40, TABLE_MAGIC, true);
  parts.push(footer);
  const out = new Uint8Array(offset + 48);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export interface CkptTensor {
  key: string;
  dtype: string;
  shape: number[];
  /** Raw little-endian bytes; crc32c is computed unless given (string tensors). */
  bytes: Uint8Array;
  offset: number;
  crc32c?: number;
}

function entryBytes(t: CkptTensor): Uint8Array {
  const e: Record<string, unknown> = { dtype: dtypeNumber(t.dtype), shape: { dim: t.shape.map((size) => ({ size })) } };
  if (t.offset) e.offset = t.offset;
  if (t.bytes.length) e.size = t.bytes.length;
  e.crc32c = t.crc32c ?? maskCrc(crc32c(t.bytes));
  return encodeMessage('tf.BundleEntryProto', e);
}

/** `variables.index` bytes: the header under the empty key, then entries in key order. */
export function buildBundleIndex(tensors: CkptTensor[]): Uint8Array {
  const header = encodeMessage('tf.BundleHeaderProto', { num_shards: 1, version: { producer: 1 } });
  const sorted = [...tensors].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return buildTable([{ key: new Uint8Array(0), value: header }, ...sorted.map((t) => ({ key: enc.encode(t.key), value: entryBytes(t) }))]);
}

/** Writes `variables/variables.{index,data-00000-of-00001}`; data in insertion order. */
export function writeCheckpoint(dir: string, vars: Array<{ key: string; shape: number[]; values: Float32Array }>): void {
  const tensors: CkptTensor[] = [];
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const v of vars) {
    const bytes = new Uint8Array(v.values.buffer, v.values.byteOffset, v.values.byteLength);
    tensors.push({ key: v.key, dtype: 'DT_FLOAT', shape: v.shape, bytes, offset });
    chunks.push(bytes);
    offset += bytes.length;
  }
  mkdirSync(join(dir, 'variables'), { recursive: true });
  writeFileSync(join(dir, 'variables/variables.index'), buildBundleIndex(tensors));
  writeFileSync(join(dir, 'variables/variables.data-00000-of-00001'), Buffer.concat(chunks));
}

/** Re-writes a real fixture's index from what the reader decodes; true when byte-identical. */
export async function reproducesIndex(savedModelDir: string): Promise<boolean> {
  const prefix = join(savedModelDir, 'variables/variables');
  const bundle = await TensorBundle.open(prefix);
  const data = readFileSync(`${prefix}.data-00000-of-00001`);
  const tensors: CkptTensor[] = [...bundle.entries.values()].map((e) => ({
    key: e.key, dtype: e.dtype, shape: e.shape, offset: e.offset, crc32c: e.crc32c,
    bytes: new Uint8Array(data.subarray(e.offset, e.offset + e.size)),
  }));
  return Buffer.from(buildBundleIndex(tensors)).equals(readFileSync(`${prefix}.index`));
}

// ---------------------------------------------------------------- graph writer

type Attr = Record<string, unknown>;
const DT_FLOAT = 1;
const DT_INT32 = 3;
const DT_STRING = 7;
const DT_RESOURCE = 20;
const type = (t: number): Attr => ({ type: t });
const shapeA = (dims: number[]): Attr => ({ shape: { dim: dims.map((size) => ({ size })) } });
const str = (s: string): Attr => ({ s: enc.encode(s) });
const ints = (v: number[]): Attr => ({ list: { i: v } });
const func = (name: string): Attr => ({ func: { name } });
const types = (v: number[]): Attr => ({ list: { type: v } });

interface Node { name: string; op: string; input?: string[]; attr?: Record<string, Attr> }

function constNode(name: string, dtype: number, dims: number[], content: { int_val?: number[]; string_val?: Uint8Array[] }): Node {
  return { name, op: 'Const', attr: { dtype: type(dtype), value: { tensor: { dtype, tensor_shape: { dim: dims.map((size) => ({ size })) }, ...content } } } };
}

export interface Variable { key: string; shape: number[]; values: Float32Array }
interface Layer {
  /** Function-body nodes; `x` is the incoming tensor reference, `v(i)` reads variable i. */
  build(x: string, v: (i: number) => string, nodes: Node[]): string;
}

/** A Keras-style SavedModel: one input, one output, variables restored by `__traced_restore`. */
export function savedModelBytes(opts: { inputName: string; inputShape: number[]; outputName: string; variables: Variable[]; body: Layer }): Uint8Array {
  const vars = opts.variables;
  const handleName = (i: number) => `variable_${i}`;
  const callFn = '__inference__call___101';
  const wrapperFn = '__inference_signature_wrapper_121';
  const restoreFn = '__inference__traced_restore_201';
  const resArgs = vars.map((_, i) => ({ name: `readvariableop_resource_${i}`, type: DT_RESOURCE }));
  // The model's function: ReadVariableOp per variable, then the layers.
  const body: Node[] = vars.map((_, i) => ({ name: `ReadVariableOp_${i}`, op: 'ReadVariableOp', input: [`readvariableop_resource_${i}`], attr: { dtype: type(DT_FLOAT) } }));
  const out = opts.body.build(opts.inputName, (i) => `ReadVariableOp_${i}:value:0`, body);
  body.push({ name: 'Identity', op: 'Identity', input: [out, ...vars.map((_, i) => `^ReadVariableOp_${i}`)], attr: { T: type(DT_FLOAT) } });
  const callDef = {
    signature: { name: callFn, input_arg: [{ name: opts.inputName, type: DT_FLOAT }, ...resArgs], output_arg: [{ name: 'identity', type: DT_FLOAT }] },
    node_def: body, ret: { identity: 'Identity:output:0' },
  };
  const unknown = vars.map((_, i) => ({ name: i === 0 ? 'unknown' : `unknown_${i - 1}`, type: DT_RESOURCE }));
  const spcAttrs = (f: string, nIn: number): Record<string, Attr> => ({
    Tin: types([DT_FLOAT, ...Array<number>(nIn).fill(DT_RESOURCE)]), Tout: types([DT_FLOAT]), f: func(f),
    _read_only_resource_inputs: ints(vars.map((_, i) => i + 1)), config_proto: str(''), executor_type: str(''),
  });
  const wrapperDef = {
    signature: { name: wrapperFn, input_arg: [{ name: opts.inputName, type: DT_FLOAT }, ...unknown], output_arg: [{ name: 'identity', type: DT_FLOAT }] },
    node_def: [
      { name: 'StatefulPartitionedCall', op: 'StatefulPartitionedCall', input: [opts.inputName, ...unknown.map((u) => u.name)], attr: spcAttrs(callFn, vars.length) },
      { name: 'Identity', op: 'Identity', input: ['StatefulPartitionedCall:output:0', '^NoOp'], attr: { T: type(DT_FLOAT) } },
      { name: 'NoOp', op: 'NoOp', input: ['^StatefulPartitionedCall'] },
    ],
    ret: { identity: 'Identity:output:0' },
  };
  const keys = vars.map((v) => enc.encode(v.key));
  const restoreDef = {
    signature: {
      name: restoreFn,
      input_arg: [{ name: 'file_prefix', type: DT_STRING }, ...vars.map((_, i) => ({ name: `assignvariableop_${i}`, type: DT_RESOURCE }))],
      output_arg: [{ name: 'identity_1', type: DT_STRING }],
    },
    node_def: [
      constNode('RestoreV2/tensor_names', DT_STRING, [vars.length], { string_val: keys }),
      constNode('RestoreV2/shape_and_slices', DT_STRING, [vars.length], { string_val: vars.map(() => new Uint8Array(0)) }),
      { name: 'RestoreV2', op: 'RestoreV2', input: ['file_prefix', 'RestoreV2/tensor_names:output:0', 'RestoreV2/shape_and_slices:output:0'], attr: { dtypes: types(vars.map(() => DT_FLOAT)) } },
      ...vars.flatMap((_, i) => [
        { name: `Identity_r${i}`, op: 'Identity', input: [`RestoreV2:tensors:${i}`], attr: { T: type(DT_FLOAT) } },
        { name: `AssignVariableOp_${i}`, op: 'AssignVariableOp', input: [`assignvariableop_${i}`, `Identity_r${i}:output:0`], attr: { dtype: type(DT_FLOAT) } },
      ]),
      { name: 'Identity_1', op: 'Identity', input: ['file_prefix', ...vars.map((_, i) => `^AssignVariableOp_${i}`)], attr: { T: type(DT_STRING) } },
    ],
    ret: { identity_1: 'Identity_1:output:0' },
  };
  const placeholder = `serving_default_${opts.inputName}`;
  const graph: Node[] = [
    ...vars.map((v, i): Node => ({ name: handleName(i), op: 'VarHandleOp', attr: { dtype: type(DT_FLOAT), shape: shapeA(v.shape), shared_name: str(handleName(i)), container: str('') } })),
    { name: placeholder, op: 'Placeholder', attr: { dtype: type(DT_FLOAT), shape: shapeA(opts.inputShape) } },
    { name: 'StatefulPartitionedCall', op: 'StatefulPartitionedCall', input: [placeholder, ...vars.map((_, i) => handleName(i))], attr: spcAttrs(wrapperFn, vars.length) },
    { name: 'saver_filename', op: 'Placeholder', attr: { dtype: type(DT_STRING), shape: shapeA([]) } },
    {
      name: 'StatefulPartitionedCall_1', op: 'StatefulPartitionedCall', input: ['saver_filename', ...vars.map((_, i) => handleName(i))],
      attr: { Tin: types([DT_STRING, ...vars.map(() => DT_RESOURCE)]), Tout: types([DT_STRING]), f: func(restoreFn), config_proto: str(''), executor_type: str('') },
    },
  ];
  const tensorShape = { dim: opts.inputShape.map((size) => ({ size })) };
  return encodeMessage('tf.SavedModel', {
    saved_model_schema_version: 1,
    meta_graphs: [{
      meta_info_def: { meta_graph_version: 'v2.14.0', tags: ['serve'], tensorflow_version: '2.14.0' },
      graph_def: { node: graph, library: { function: [callDef, wrapperDef, restoreDef] }, versions: { producer: 1645, min_consumer: 12 } },
      saver_def: { filename_tensor_name: 'saver_filename:0', save_tensor_name: '', restore_op_name: 'StatefulPartitionedCall_1' },
      signature_def: {
        serving_default: {
          inputs: { [opts.inputName]: { name: `${placeholder}:0`, dtype: DT_FLOAT, tensor_shape: tensorShape } },
          outputs: { [opts.outputName]: { name: 'StatefulPartitionedCall:0', dtype: DT_FLOAT, tensor_shape: { dim: [{ size: -1 }, { size: 3 }] } } },
          method_name: 'tensorflow/serving/predict',
        },
      },
    }],
  });
}

const t = (_doc: string): Record<string, Attr> => ({ T: type(DT_FLOAT) });

/** Dense(in→hidden, ReLU) → Dense(hidden→3, softmax). */
export function mlpSpec(nIn = 16, hidden = 32) {
  const variables: Variable[] = [
    { key: 'layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE', shape: [nIn, hidden], values: seededFloats(11, nIn * hidden, 0.5) },
    { key: 'layer_with_weights-0/bias/.ATTRIBUTES/VARIABLE_VALUE', shape: [hidden], values: seededFloats(12, hidden, 0.1) },
    { key: 'layer_with_weights-1/kernel/.ATTRIBUTES/VARIABLE_VALUE', shape: [hidden, 3], values: seededFloats(13, hidden * 3, 0.5) },
    { key: 'layer_with_weights-1/bias/.ATTRIBUTES/VARIABLE_VALUE', shape: [3], values: seededFloats(14, 3, 0.1) },
  ];
  const body: Layer = {
    build(x, v, n) {
      n.push({ name: 'dense/MatMul', op: 'MatMul', input: [x, v(0)], attr: { ...t(''), transpose_a: { b: false }, transpose_b: { b: false } } });
      n.push({ name: 'dense/BiasAdd', op: 'BiasAdd', input: ['dense/MatMul:product:0', v(1)], attr: { ...t(''), data_format: str('NHWC') } });
      n.push({ name: 'dense/Relu', op: 'Relu', input: ['dense/BiasAdd:output:0'], attr: t('') });
      n.push({ name: 'dense_1/MatMul', op: 'MatMul', input: ['dense/Relu:activations:0', v(2)], attr: { ...t(''), transpose_a: { b: false }, transpose_b: { b: false } } });
      n.push({ name: 'dense_1/BiasAdd', op: 'BiasAdd', input: ['dense_1/MatMul:product:0', v(3)], attr: { ...t(''), data_format: str('NHWC') } });
      n.push({ name: 'dense_1/Softmax', op: 'Softmax', input: ['dense_1/BiasAdd:output:0'], attr: t('') });
      return 'dense_1/Softmax:softmax:0';
    },
  };
  return { inputName: 'input_1', inputShape: [-1, nIn], outputName: 'dense_1', variables, body };
}

/** Conv2D(3×3, 4 filters, SAME) → BatchNorm → ReLU → MaxPool(2) → Flatten → Dense(3, softmax), NHWC 8×8×1. */
export function cnnSpec() {
  const k = (key: string) => `${key}/.ATTRIBUTES/VARIABLE_VALUE`;
  const variables: Variable[] = [
    { key: k('layer_with_weights-0/kernel'), shape: [3, 3, 1, 4], values: seededFloats(21, 36, 0.5) },
    { key: k('layer_with_weights-0/bias'), shape: [4], values: seededFloats(22, 4, 0.1) },
    { key: k('layer_with_weights-1/gamma'), shape: [4], values: seededFloats(23, 4, 0.2).map((x) => 1 + x) },
    { key: k('layer_with_weights-1/beta'), shape: [4], values: seededFloats(24, 4, 0.1) },
    { key: k('layer_with_weights-1/moving_mean'), shape: [4], values: seededFloats(25, 4, 0.1) },
    { key: k('layer_with_weights-1/moving_variance'), shape: [4], values: seededFloats(26, 4, 0.3).map((x) => 1 + x) },
    { key: k('layer_with_weights-2/kernel'), shape: [64, 3], values: seededFloats(27, 192, 0.3) },
    { key: k('layer_with_weights-2/bias'), shape: [3], values: seededFloats(28, 3, 0.1) },
  ];
  const body: Layer = {
    build(x, v, n) {
      n.push({ name: 'conv2d/Conv2D', op: 'Conv2D', input: [x, v(0)], attr: { ...t(''), strides: ints([1, 1, 1, 1]), padding: str('SAME'), data_format: str('NHWC'), dilations: ints([1, 1, 1, 1]), use_cudnn_on_gpu: { b: true }, explicit_paddings: { list: {} } } });
      n.push({ name: 'conv2d/BiasAdd', op: 'BiasAdd', input: ['conv2d/Conv2D:output:0', v(1)], attr: { ...t(''), data_format: str('NHWC') } });
      n.push({
        name: 'batch_normalization/FusedBatchNormV3', op: 'FusedBatchNormV3', input: ['conv2d/BiasAdd:output:0', v(2), v(3), v(4), v(5)],
        attr: { ...t(''), U: type(DT_FLOAT), epsilon: { f: 0.001 }, data_format: str('NHWC'), is_training: { b: false }, exponential_avg_factor: { f: 1 } },
      });
      n.push({ name: 'Relu', op: 'Relu', input: ['batch_normalization/FusedBatchNormV3:y:0'], attr: t('') });
      n.push({ name: 'max_pooling2d/MaxPool', op: 'MaxPool', input: ['Relu:activations:0'], attr: { ...t(''), ksize: ints([1, 2, 2, 1]), strides: ints([1, 2, 2, 1]), padding: str('VALID'), data_format: str('NHWC'), explicit_paddings: { list: {} } } });
      n.push(constNode('flatten/Const', DT_INT32, [2], { int_val: [-1, 64] }));
      n.push({ name: 'flatten/Reshape', op: 'Reshape', input: ['max_pooling2d/MaxPool:output:0', 'flatten/Const:output:0'], attr: { ...t(''), Tshape: type(DT_INT32) } });
      n.push({ name: 'dense/MatMul', op: 'MatMul', input: ['flatten/Reshape:output:0', v(6)], attr: { ...t(''), transpose_a: { b: false }, transpose_b: { b: false } } });
      n.push({ name: 'dense/BiasAdd', op: 'BiasAdd', input: ['dense/MatMul:product:0', v(7)], attr: { ...t(''), data_format: str('NHWC') } });
      n.push({ name: 'dense/Softmax', op: 'Softmax', input: ['dense/BiasAdd:output:0'], attr: t('') });
      return 'dense/Softmax:softmax:0';
    },
  };
  return { inputName: 'conv2d_input', inputShape: [-1, 8, 8, 1], outputName: 'dense', variables, body };
}

// ---------------------------------------------------------------- numpy reference

const NUMPY_REFERENCE = String.raw`
import json, sys
import numpy as np
spec = json.load(sys.stdin)
w = [np.array(v['values'], dtype=np.float64).reshape(v['shape']) for v in spec['variables']]
x = np.array(spec['input'], dtype=np.float64).reshape(spec['inputShape'])
def softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)
if spec['kind'] == 'mlp':
    h = np.maximum(x @ w[0] + w[1], 0)
    y = softmax(h @ w[2] + w[3])
else:
    n, H, W, C = x.shape
    k = w[0]
    p = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    conv = np.zeros((n, H, W, k.shape[3]))
    for i in range(H):
        for j in range(W):
            patch = p[:, i:i + 3, j:j + 3, :]
            conv[:, i, j, :] = np.tensordot(patch, k, axes=([1, 2, 3], [0, 1, 2]))
    conv = conv + w[1]
    bn = (conv - w[4]) / np.sqrt(w[5] + 0.001) * w[2] + w[3]
    r = np.maximum(bn, 0)
    pool = r.reshape(n, H // 2, 2, W // 2, 2, -1).max(axis=(2, 4))
    y = softmax(pool.reshape(n, -1) @ w[6] + w[7])
json.dump({'shape': list(y.shape), 'data': y.reshape(-1).tolist()}, sys.stdout)
`;

function numpyReference(kind: 'mlp' | 'cnn', spec: { variables: Variable[] }, inputShape: number[], input: Float32Array): { shape: number[]; data: number[] } {
  const payload = JSON.stringify({ kind, inputShape, input: Array.from(input), variables: spec.variables.map((v) => ({ shape: v.shape, values: Array.from(v.values) })) });
  const out = execFileSync('python3', ['-c', NUMPY_REFERENCE], { input: payload, encoding: 'utf8' });
  return JSON.parse(out) as { shape: number[]; data: number[] };
}

export function writeModel(dir: string, spec: ReturnType<typeof mlpSpec> | ReturnType<typeof cnnSpec>): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'saved_model.pb'), savedModelBytes(spec));
  writeCheckpoint(dir, spec.variables);
}

async function main(): Promise<void> {
  for (const name of ['times_two_int', 'times_three_float']) {
    if (!(await reproducesIndex(join(FIXTURES, name)))) throw new Error(`checkpoint writer does not reproduce ${name}/variables/variables.index byte for byte`);
    console.log(`${name}/variables/variables.index reproduced byte for byte`);
  }
  const out = join(FIXTURES, 'generated');
  const cases = [
    { name: 'mlp', kind: 'mlp' as const, spec: mlpSpec(), shape: [5, 16] },
    { name: 'cnn', kind: 'cnn' as const, spec: cnnSpec(), shape: [3, 8, 8, 1] },
  ];
  for (const c of cases) {
    const dir = join(out, c.name);
    writeModel(dir, c.spec);
    const count = c.shape.reduce((a, b) => a * b, 1);
    const input = seededFloats(c.name === 'mlp' ? 31 : 32, count, 1);
    const ref = numpyReference(c.kind, c.spec, c.shape, input);
    writeFileSync(join(dir, 'expected.json'), JSON.stringify({
      inputs: { [c.spec.inputName]: { shape: c.shape, data: Array.from(input) } },
      outputs: { [c.spec.outputName]: ref },
    }) + '\n');
    console.log(`wrote ${dir}`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
