import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRequestJson } from '../../src/protocols/v2/json-body.js';
import { decodeInferRequest } from '../../src/protocols/v2/rest-codec.js';
import { decodeV1Request } from '../../src/protocols/v1/v1-codec.js';

/** Nested tensor data must be rectangular: a matching element count is not enough (issue 17.6). */
const LIMITS = { maxTensorElements: 1_000_000, maxBytesElements: 1_000_000 };
const v2 = (shape: number[], data: string, datatype = 'FP32') =>
  decodeInferRequest(parseRequestJson(Buffer.from(`{"inputs":[{"name":"x","datatype":"${datatype}","shape":${JSON.stringify(shape)},"data":${data}}]}`)), undefined, LIMITS);
const v1 = (instances: unknown) => decodeV1Request({ instances }, [{ name: 'x', datatype: 'FP32', shape: [-1, -1] }]);
const ragged = (field: string) => (err: Error) => err.message.startsWith(`${field}: ragged nested arrays`);

describe('ragged nested data', () => {
  it('V2: refuses rows of unequal length, values beside arrays, and an empty row, whatever the count', () => {
    assert.throws(() => v2([2, 4], '[[1,1,1,1,1],[1,1,1]]'), ragged('inputs[0].data'));
    assert.throws(() => v2([2, 4], '[[1,2,3,4],[5,6,[7],8]]'), ragged('inputs[0].data'));
    assert.throws(() => v2([2, 2, 2], '[[[1,2],[3,4]],[[5,6,7],[8]]]'), ragged('inputs[0].data'));
    assert.throws(() => v2([2, 2], '[["a","b","c"],["d"]]', 'BYTES'), ragged('inputs[0].data'));
    assert.throws(() => v2([1, 4], '[[1,2,3,4],[]]'), ragged('inputs[0].data'));
  });

  it('V2: accepts flat data, exact nesting and a rectangular nesting of another rank (numpy reshape)', () => {
    assert.equal(v2([2, 4], '[1,2,3,4,5,6,7,8]').inputs[0]!.data.length, 8);
    assert.equal(v2([2, 4], '[[1,2,3,4],[5,6,7,8]]').inputs[0]!.data.length, 8);
    assert.equal(v2([2, 2, 2], '[[1,2,3,4],[5,6,7,8]]').inputs[0]!.data.length, 8);
    assert.equal(v2([2, 2], '[["a","b"],["c","d"]]', 'BYTES').inputs[0]!.data.length, 4);
  });

  it('V1: refuses ragged instances even when the element count fits the first rows', () => {
    assert.throws(() => v1([[1, 2], [3, 4, 5, 6], []]), ragged('instances'));
    assert.throws(() => v1([[1, 1, 1, 1, 1], [1, 1, 1]]), ragged('instances'));
    assert.deepEqual(v1([[1, 2], [3, 4]]).inputs[0]!.shape, [2, 2]);
  });
});
