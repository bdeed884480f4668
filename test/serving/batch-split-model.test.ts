import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Tensor } from '../../src/api/inference.js';
import type { LoadedModel } from '../../src/runtimes/types.js';
import { BatchSplitModel } from '../../src/serving/replicas/batch-split-model.js';

function fake(where: string, calls: string[]): LoadedModel {
  return {
    platform: 'fake', inputs: [{ name: 'x', datatype: 'FP64', shape: [-1, 1] }], outputs: [{ name: 'y', datatype: 'FP64', shape: [-1] }],
    async infer(inputs: Tensor[]) { calls.push(where); return [{ name: 'y', datatype: 'FP64', shape: [inputs[0]!.shape[0]!], data: new Float64Array(inputs[0]!.shape[0]!) }]; },
    async predictV1() { calls.push(`${where}-v1`); return { predictions: [] }; },
    memoryBytes: () => 100,
    async unload() { calls.push(`${where}-unload`); },
  };
}

const rows = (n: number): Tensor[] => [{ name: 'x', datatype: 'FP64', shape: [n, 1], data: new Float64Array(n) }];

test('a fast model computes small batches inline and large ones in a worker started on first need', async () => {
  const calls: string[] = [];
  let starts = 0;
  const m = new BatchSplitModel(fake('inline', calls), async () => { starts++; return fake('worker', calls); }, 100);
  await m.infer(rows(100), ['y']);
  assert.equal(starts, 0, 'a worker started for a small batch');
  assert.equal(m.memoryBytes(), 100);
  await m.infer(rows(101), ['y']);
  await m.infer(rows(5000), ['y']);
  await m.predictV1!({ instances: new Array(101).fill([0]) });
  await m.predictV1!({ instances: [[0]] });
  assert.deepEqual(calls, ['inline', 'worker', 'worker', 'worker-v1', 'inline-v1']);
  assert.equal(starts, 1);
  assert.equal(m.memoryBytes(), 200);
  await m.unload();
  assert.deepEqual(calls.slice(-2).sort(), ['inline-unload', 'worker-unload']);
});

test('a worker that fails to start fails that request and is tried again next time', async () => {
  let starts = 0;
  const calls: string[] = [];
  const m = new BatchSplitModel(fake('inline', calls), async () => { if (starts++ === 0) throw new Error('no worker'); return fake('worker', calls); }, 1);
  await assert.rejects(m.infer(rows(2), ['y']), /no worker/);
  await m.infer(rows(2), ['y']);
  assert.deepEqual(calls, ['worker']);
});
