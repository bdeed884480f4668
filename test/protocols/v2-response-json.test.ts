import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { InferRequest, InferResponse, Tensor } from '../../src/api/inference.js';
import { encodeInferResponse } from '../../src/protocols/v2/rest-codec.js';
import { toValues } from '../../src/protocols/tensor-values.js';

/** What the body must be: the response object as JSON.stringify writes it. */
function reference(res: InferResponse): string {
  const body: Record<string, unknown> = { model_name: res.modelName };
  if (res.modelVersion !== undefined) body.model_version = res.modelVersion;
  if (res.id !== undefined) body.id = res.id;
  if (res.parameters) body.parameters = res.parameters;
  body.outputs = res.outputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape, ...(t.parameters ? { parameters: t.parameters } : {}), data: toValues(t) }));
  return JSON.stringify(body);
}

const special = [NaN, Infinity, -Infinity, -0, 0, 1e-45, 3.4028234663852886e38, 1e21, 1e-7, 0.1];
const floats = fc.array(fc.oneof(fc.double(), fc.constantFrom(...special)), { maxLength: 40 });
const text = fc.string({ unit: 'binary', maxLength: 12 });

const tensor: fc.Arbitrary<Tensor> = fc.oneof(
  floats.map((v) => ({ name: 'fp32', datatype: 'FP32' as const, shape: [v.length], data: Float32Array.from(v) })),
  floats.map((v) => ({ name: 'fp64', datatype: 'FP64' as const, shape: [v.length], data: Float64Array.from(v) })),
  fc.array(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), { maxLength: 20 }).map((v) => ({ name: 'i32', datatype: 'INT32' as const, shape: [v.length], data: Int32Array.from(v) })),
  fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 20 }).map((v) => ({ name: 'u8', datatype: 'UINT8' as const, shape: [v.length], data: Uint8Array.from(v) })),
  fc.array(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), { maxLength: 10 }).map((v) => ({ name: 'i64', datatype: 'INT64' as const, shape: [v.length], data: BigInt64Array.from(v) })),
  fc.array(fc.boolean(), { maxLength: 10 }).map((v) => ({ name: 'b', datatype: 'BOOL' as const, shape: [v.length], data: Uint8Array.from(v, Number) })),
  fc.array(text, { maxLength: 5 }).map((v) => ({ name: 'str "quoted" \u2028', datatype: 'BYTES' as const, shape: [v.length], data: v.map((x) => new TextEncoder().encode(x)) })),
  fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 10 }).map((v) => ({ name: 'h', datatype: 'FP16' as const, shape: [v.length], data: Uint16Array.from(v), parameters: { note: 'half' } })),
);

describe('V2 response JSON, written field by field', () => {
  it('is byte for byte what JSON.stringify writes, for every datatype and odd value', () => {
    fc.assert(
      fc.property(fc.array(tensor, { minLength: 1, maxLength: 4 }), fc.option(text, { nil: undefined }), fc.option(text, { nil: undefined }), (outputs, id, version) => {
        const res: InferResponse = { modelName: 'm"odel\\', outputs, ...(id !== undefined ? { id } : {}), ...(version !== undefined ? { modelVersion: version } : {}) };
        const req: InferRequest = { inputs: [] };
        const { json, binary } = encodeInferResponse(res, req);
        assert.equal(binary, undefined);
        assert.equal(json, reference(res));
      }),
      { numRuns: 500 },
    );
  });

  it('binary outputs keep their parameters and the body stays valid JSON', () => {
    const res: InferResponse = { modelName: 'm', parameters: { a: 1 }, outputs: [{ name: 'x', datatype: 'FP32', shape: [2], data: Float32Array.from([1.5, NaN]) }, { name: 'y', datatype: 'INT32', shape: [1], data: Int32Array.from([7]) }] };
    const { json, binary } = encodeInferResponse(res, { inputs: [], outputs: [{ name: 'x', parameters: { binary_data: true } }] });
    assert.deepEqual(JSON.parse(json), { model_name: 'm', parameters: { a: 1 }, outputs: [{ name: 'x', datatype: 'FP32', shape: [2], parameters: { binary_data_size: 8 } }, { name: 'y', datatype: 'INT32', shape: [1], data: [7] }] });
    assert.equal(binary?.length, 1);
    assert.equal(binary![0]!.byteLength, 8);
  });
});
