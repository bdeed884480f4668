import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Tensor, TensorSpec } from '../../src/api/inference.js';
import type { LoadedModel } from '../../src/runtimes/types.js';
import { probeLatencyMicros } from '../../src/serving/replicas/probe-latency.js';

/** A model satisfying the runtime contract whose calls the test counts. */
function model(inputs: TensorSpec[], run: (inputs: Tensor[]) => Promise<void>): LoadedModel & { calls: Tensor[][] } {
  const calls: Tensor[][] = [];
  return {
    calls,
    platform: 'test',
    inputs,
    outputs: [{ name: 'y', datatype: 'FP32', shape: [-1] }],
    async infer(x) {
      calls.push(x);
      await run(x);
      return [{ name: 'y', datatype: 'FP32', shape: [1], data: new Float32Array(1) }];
    },
    memoryBytes: () => 0,
    unload: async () => undefined,
  };
}

describe('load-time latency probe (which replicas may run on the main thread)', () => {
  it('calls a fast model at least a dozen times with zero inputs, dynamic dimensions as 1', async () => {
    const m = model([{ name: 'x', datatype: 'FP32', shape: [-1, 4] }, { name: 'k', datatype: 'INT64', shape: [2] }], async () => undefined);
    const micros = await probeLatencyMicros(m, 100);
    assert.equal(typeof micros, 'number');
    assert.ok(m.calls.length >= 12 && m.calls.length <= 200, String(m.calls.length));
    assert.deepEqual(m.calls[0]!.map((t) => [t.name, t.shape, Array.from(t.data as ArrayLike<number | bigint>).every((v) => Number(v) === 0)]), [['x', [1, 4], true], ['k', [2], true]]);
  });

  it('stops after one call of a model far slower than the threshold', async () => {
    const m = model([{ name: 'x', datatype: 'FP32', shape: [1] }], () => sleep(50));
    assert.equal(await probeLatencyMicros(m, 100), undefined);
    assert.equal(m.calls.length, 1);
  });

  it('measures a slow model with a few calls after its warm-up when asked to, the fastest counting', async () => {
    let call = 0;
    const m = model([{ name: 'x', datatype: 'FP32', shape: [1] }], () => sleep([400, 150, 50, 150][call++] ?? 1));
    const micros = await probeLatencyMicros(m, 100, true);
    assert.equal(m.calls.length, 4);
    assert.ok(micros !== undefined && micros >= 45_000 && micros < 150_000, String(micros));
  });

  it('does not probe text inputs or huge fixed shapes, and a failing model is not fast', async () => {
    const text = model([{ name: 's', datatype: 'BYTES', shape: [1] }], async () => undefined);
    assert.equal(await probeLatencyMicros(text, 100), undefined);
    const huge = model([{ name: 'img', datatype: 'FP32', shape: [1, 3, 2048, 2048] }], async () => undefined);
    assert.equal(await probeLatencyMicros(huge, 100), undefined);
    assert.equal(text.calls.length + huge.calls.length, 0);
    const failing = model([{ name: 'x', datatype: 'FP32', shape: [1] }], async () => {
      throw new Error('index out of range');
    });
    assert.equal(await probeLatencyMicros(failing, 100), undefined);
  });
});
