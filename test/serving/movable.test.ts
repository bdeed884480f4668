import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Tensor } from '../../src/api/inference.js';
import { keepInPlace, markMovable, takeMovable } from '../../src/serving/replicas/movable.js';

const tensor = (data: Float32Array): Tensor => ({ name: 'x', datatype: 'FP32', shape: [data.length], data });

describe('buffers a replica call may move', () => {
  it('moves only marked buffers, each once, even when two tensors view the same one', () => {
    const body = new ArrayBuffer(64);
    const a = new Float32Array(body, 0, 4);
    const b = new Float32Array(body, 16, 4);
    const other = new Float32Array(8);
    markMovable(body);
    assert.deepEqual(takeMovable([tensor(a), tensor(b), tensor(other)]), [body]);
    // A second call with the same tensors (nothing should reuse them, but if it did) moves nothing.
    assert.deepEqual(takeMovable([tensor(a), tensor(b)]), []);
  });

  it('keeps a buffer in place once its mark is withdrawn (a payload logger reads the body later)', () => {
    const body = new ArrayBuffer(32);
    markMovable(body);
    keepInPlace(body);
    assert.deepEqual(takeMovable([tensor(new Float32Array(body))]), []);
  });
});
