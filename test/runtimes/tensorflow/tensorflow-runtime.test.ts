import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { InferdError } from '../../../src/api/errors.js';
import type { LoadedModel } from '../../../src/runtimes/types.js';
import { TensorBundle } from '../../../src/runtimes/tensorflow/index.js';
import { crc32c, maskCrc, unmaskCrc } from '../../../src/runtimes/tensorflow/crc32c.js';
import { reproducesIndex } from '../../../scripts/gen-tf-savedmodel.js';
import { GENERATED, TF_FIXTURES, assertCloseRel, brokenModels, expectedOf, loadTf } from './helpers.js';

const isError = (pattern: RegExp) => (err: unknown) => {
  assert.ok(InferdError.is(err), `expected InferdError, got ${String(err)}`);
  assert.match(err.message, pattern);
  return true;
};

describe('TensorBundle checkpoints', () => {
  it('CRC32C matches the standard check value and masks round-trip', () => {
    assert.equal(crc32c(new TextEncoder().encode('123456789')), 0xe3069283);
    assert.equal(unmaskCrc(maskCrc(0x12345678)), 0x12345678);
  });

  it('reads Snappy-compressed (TF 1.14, TF 2.14) and raw indexes with their values', async () => {
    const tf1 = await TensorBundle.open(join(TF_FIXTURES, 'half_plus_two_tf1/00000123/variables/variables'));
    assert.deepEqual([...tf1.entries.keys()], ['a', 'a2', 'b', 'c', 'c2']);
    const a = await tf1.read('a');
    assert.equal(new DataView(a.bytes.buffer, a.bytes.byteOffset).getFloat32(0, true), 0.5);
    const tf2 = await TensorBundle.open(join(TF_FIXTURES, 'half_plus_two_tf2/00000123/variables/variables'));
    const c = await tf2.read('c/.ATTRIBUTES/VARIABLE_VALUE');
    assert.equal(new DataView(c.bytes.buffer, c.bytes.byteOffset).getFloat32(0, true), 3);
    const int = await TensorBundle.open(join(TF_FIXTURES, 'times_two_int/variables/variables'));
    assert.equal(int.entries.get('v/.ATTRIBUTES/VARIABLE_VALUE')?.dtype, 'DT_INT32');
  });

  it("the generator's writer reproduces the real uncompressed indexes byte for byte", async () => {
    assert.equal(await reproducesIndex(join(TF_FIXTURES, 'times_two_int')), true);
    assert.equal(await reproducesIndex(join(TF_FIXTURES, 'times_three_float')), true);
  });

  it('refuses truncated indexes and CRC mismatches with clear errors', async () => {
    const b = brokenModels();
    await assert.rejects(TensorBundle.open(join(b.truncatedIndex, 'variables/variables')), isError(/corrupt.*truncated/));
    await assert.rejects(TensorBundle.open(join(b.badIndexCrc, 'variables/variables')), isError(/CRC32C mismatch in the block/));
    const bundle = await TensorBundle.open(join(b.crcMismatch, 'variables/variables'));
    await assert.rejects(bundle.read('layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE'), isError(/CRC32C mismatch for "layer_with_weights-0\/kernel/));
  });
});

describe('TensorFlow runtime: real TensorFlow fixtures', () => {
  it('TF1 half_plus_two (version directory): serving_default and regress_x2_to_y3; ParseExample signatures refused by name', async () => {
    const m = await loadTf(join(TF_FIXTURES, 'half_plus_two_tf1'));
    assert.equal(m.platform, 'tensorflow_savedmodel');
    assert.deepEqual(m.inputs, [{ name: 'x', datatype: 'FP32', shape: [-1, 1] }]);
    const [y] = await m.infer([{ name: 'x', datatype: 'FP32', shape: [3, 1], data: new Float32Array([1, 2, 5]) }], ['y']);
    assert.deepEqual(Array.from(y!.data as Float32Array), [2.5, 3, 4.5]);
    assert.deepEqual(await m.predictV1!({ signature_name: 'regress_x2_to_y3', instances: [[1], [2]] }), { predictions: [[3.5], [4]] });
    await assert.rejects(m.predictV1!({ signature_name: 'classify_x_to_y', instances: ['x'] }), isError(/classify_x_to_y.*ParseExample/));
    await m.unload();
  });

  it('TF2 half_plus_two: function inlining, resource variables, row and columnar formats', async () => {
    const m = await loadTf(join(TF_FIXTURES, 'half_plus_two_tf2'));
    assert.deepEqual(await m.predictV1!({ instances: [1, 2, 5] }), { predictions: [2.5, 3, 4.5] });
    assert.deepEqual(await m.predictV1!({ inputs: { x: [1, 2, 5] } }), { outputs: [2.5, 3, 4.5] });
    assert.deepEqual(await m.predictV1!({ signature_name: 'classify_x2_to_y3', inputs: [1] }), { outputs: [3.5] });
    await assert.rejects(m.predictV1!({ signature_name: 'nope', instances: [1] }), isError(/unknown signature_name "nope"/));
    await m.unload();
  });

  it('--signature_name picks the signature infer() serves', async () => {
    const m = await loadTf(join(TF_FIXTURES, 'half_plus_two_tf2'), ['--signature_name=regress_x2_to_y3']);
    assert.deepEqual(m.inputs.map((i) => i.name), ['inputs']);
    const [o] = await m.infer([{ name: 'inputs', datatype: 'FP32', shape: [1], data: new Float32Array([4]) }], ['outputs']);
    assert.deepEqual(Array.from(o!.data as Float32Array), [5]);
    await assert.rejects(loadTf(join(TF_FIXTURES, 'half_plus_two_tf2'), ['--signature_name=missing']), isError(/no signature "missing"/));
    await assert.rejects(loadTf(join(TF_FIXTURES, 'half_plus_two_tf2'), ['--signature_name=regress_x_to_y']), isError(/regress_x_to_y.*ParseExampleV2/));
  });

  it('INT32 and FP32 scalars; the TF.js graph model', async () => {
    const int = await loadTf(join(TF_FIXTURES, 'times_two_int'));
    assert.deepEqual(await int.predictV1!({ instances: [1, 2, 3] }), { predictions: [2, 4, 6] });
    const [o] = await int.infer([{ name: 'x', datatype: 'INT32', shape: [], data: new Int32Array([7]) }], ['output_0']);
    assert.equal(o!.datatype, 'INT32');
    assert.deepEqual(Array.from(o!.data as Int32Array), [14]);
    const flt = await loadTf(join(TF_FIXTURES, 'times_three_float'));
    assert.deepEqual(await flt.predictV1!({ inputs: [1, 2, 3] }), { outputs: [3, 6, 9] });
    const g = await loadTf(join(TF_FIXTURES, 'graph_model'));
    const r = (await g.predictV1!({ inputs: [[1, 0], [0, 1]] })) as { outputs: number[][] };
    // The README gives w to six decimals.
    assertCloseRel(r.outputs.flat(), [0.017376, -0.450125, 0.739385, 0.266632], 1e-4);
  });
});

describe('TensorFlow runtime: generated Keras-style models vs numpy', () => {
  let mlp: LoadedModel;
  before(async () => {
    mlp = await loadTf(join(GENERATED, 'mlp'));
  });
  after(async () => {
    await mlp.unload();
  });

  it('metadata names the signature tensors', () => {
    assert.deepEqual(mlp.inputs, [{ name: 'input_1', datatype: 'FP32', shape: [-1, 16] }]);
    assert.deepEqual(mlp.outputs, [{ name: 'dense_1', datatype: 'FP32', shape: [-1, 3] }]);
    assert.ok(mlp.memoryBytes() >= (16 * 32 + 32 + 32 * 3 + 3) * 4);
  });

  it('MLP and CNN match numpy within 1e-5 relative', async () => {
    const e = expectedOf('mlp');
    const [o] = await mlp.infer([{ name: 'input_1', datatype: 'FP32', shape: e.inputs.input_1!.shape, data: Float32Array.from(e.inputs.input_1!.data) }], ['dense_1']);
    assert.deepEqual(o!.shape, [5, 3]);
    assertCloseRel(o!.data as Float32Array, e.outputs.dense_1!.data, 1e-5);
    const c = expectedOf('cnn');
    const cnn = await loadTf(join(GENERATED, 'cnn'));
    const [co] = await cnn.infer([{ name: 'conv2d_input', datatype: 'FP32', shape: c.inputs.conv2d_input!.shape, data: Float32Array.from(c.inputs.conv2d_input!.data) }], ['dense']);
    assertCloseRel(co!.data as Float32Array, c.outputs.dense!.data, 1e-5);
    await cnn.unload();
  });

  it('a batch equals its rows run one by one', async () => {
    const e = expectedOf('mlp');
    const all = e.inputs.input_1!.data;
    const [batch] = await mlp.infer([{ name: 'input_1', datatype: 'FP32', shape: [5, 16], data: Float32Array.from(all) }], ['dense_1']);
    for (let r = 0; r < 5; r++) {
      const [one] = await mlp.infer([{ name: 'input_1', datatype: 'FP32', shape: [1, 16], data: Float32Array.from(all.slice(r * 16, r * 16 + 16)) }], ['dense_1']);
      assertCloseRel(one!.data as Float32Array, Array.from((batch!.data as Float32Array).slice(r * 3, r * 3 + 3)), 1e-6);
    }
  });

  it('bad input is refused with errors naming the problem', async () => {
    await assert.rejects(mlp.infer([{ name: 'input_1', datatype: 'FP32', shape: [1, 5], data: new Float32Array(5) }], ['dense_1']), isError(/serving_default/));
    await assert.rejects(mlp.predictV1!({ instances: [[1, 2], [3]] }), isError(/same shape|rectangular/));
    await assert.rejects(mlp.predictV1!({ instances: [['a']] }), isError(/not a number/));
    await assert.rejects(mlp.predictV1!({ instances: [1], inputs: [1] }), isError(/exactly one of/));
    await assert.rejects(mlp.predictV1!({ inputs: { wrong: [[1]] } }), isError(/unknown input "wrong"/));
  });

  it('unsupported ops, truncated indexes and CRC mismatches fail at load, naming op and signature', async () => {
    const b = brokenModels();
    await assert.rejects(loadTf(b.unsupportedOp), isError(/signature "serving_default" uses op MatrixInverse/));
    await assert.rejects(loadTf(b.truncatedIndex), isError(/variables\.index is corrupt/));
    await assert.rejects(loadTf(b.crcMismatch), isError(/CRC32C mismatch/));
  });

  it('unload frees the TF.js tensors', async () => {
    const { tf } = await import('../../../src/runtimes/tensorflow/tfjs-engine.js');
    const before = tf.memory().numTensors;
    const m = await loadTf(join(GENERATED, 'mlp'));
    assert.ok(tf.memory().numTensors > before);
    await m.unload();
    assert.equal(tf.memory().numTensors, before);
  });
});

describe('INT64 at the protocol level', () => {
  it('widens int32 results to INT64 and refuses values that do not fit', async () => {
    const { toTf, fromTf } = await import('../../../src/runtimes/tensorflow/tf-codec.js');
    const x = toTf({ name: 'ids', datatype: 'INT64', shape: [2], data: new BigInt64Array([1n, -5n]) }, 'DT_INT64');
    assert.equal(x.dtype, 'int32');
    const back = await fromTf('ids', x, 'DT_INT64');
    assert.equal(back.datatype, 'INT64');
    assert.deepEqual(Array.from(back.data as BigInt64Array), [1n, -5n]);
    x.dispose();
    assert.throws(() => toTf({ name: 'ids', datatype: 'INT64', shape: [1], data: new BigInt64Array([1n << 40n]) }, 'DT_INT64'), isError(/does not fit in int32/));
  });
});

void readFileSync;
