import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InferdError } from '../../src/api/errors.js';
import type { Tensor } from '../../src/api/inference.js';
import type { LoadedModel } from '../../src/runtimes/types.js';
import { ModelEndpoint } from '../../src/serving/model-endpoint.js';

const model = (): LoadedModel => ({
  platform: 'test',
  inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 1] }],
  outputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 1] }],
  infer: async (inputs: Tensor[]) => inputs,
  memoryBytes: () => 1,
  unload: async () => undefined,
});

/** A lazy (never loaded) on-demand endpoint whose loads wait until the test lets them finish. */
function lazyEndpoint(maxQueue: number) {
  let loads = 0;
  const pending: Array<() => void> = [];
  const reload = () => {
    loads++;
    return new Promise<LoadedModel>((resolve) => pending.push(() => resolve(model())));
  };
  const ep = new ModelEndpoint('default', 'm', '1', 'm-predictor-00001', { scheduler: { maxQueue, concurrency: 1 }, timeoutMs: 10_000, onDemand: true, reload });
  ep.setStandby();
  return { ep, loads: () => loads, finishLoads: () => pending.splice(0).forEach((f) => f()) };
}

describe('ModelEndpoint.acquire: the one scale-from-zero step', () => {
  it('a standby model is ready; concurrent callers share one load; waiters beyond maxQueue get 429', async () => {
    const { ep, loads, finishLoads } = lazyEndpoint(2);
    assert.equal(ep.ready, true);
    assert.equal(ep.loadedModel, undefined);
    const a = ep.acquire();
    const b = ep.acquire();
    await new Promise((r) => setImmediate(r));
    await assert.rejects(ep.acquire(), (e: unknown) => InferdError.is(e) && e.code === 'overloaded' && e.retryAfter === 1);
    finishLoads();
    const [la, lb] = await Promise.all([a, b]);
    assert.equal(loads(), 1);
    assert.equal(la.model, lb.model);
    assert.equal(ep.state, 'Loaded');
    // Held: an idle unload waits for the holders.
    await ep.standby();
    assert.equal(ep.state, 'Loaded');
    la.release();
    la.release(); // idempotent: one release per lease
    await ep.standby();
    assert.equal(ep.state, 'Loaded');
    lb.release();
    await ep.standby();
    assert.equal(ep.state, 'Standby');
  });

  it('infer and describe load a standby model the same way', async () => {
    const { ep, loads, finishLoads } = lazyEndpoint(8);
    const described = ep.describe();
    const answer = ep.infer({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 1], data: new Float32Array([3]) }] });
    await new Promise((r) => setImmediate(r));
    finishLoads();
    assert.equal((await described)?.platform, 'test');
    assert.deepEqual(Array.from((await answer).outputs[0]!.data as Float32Array), [3]);
    assert.equal(loads(), 1);
    assert.equal(ep.idle, true);
  });
});
