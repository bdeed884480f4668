import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Tensor } from '../../src/api/inference.js';
import type { LoadedModel } from '../../src/runtimes/types.js';
import { InferScheduler, type SchedulerOptions } from '../../src/serving/scheduler.js';

/** A model whose calls stay in flight until the test lets them all finish. */
function heldModel(onMainThread: boolean): LoadedModel & { finish(): void } {
  const waiting: Array<() => void> = [];
  return {
    platform: 'test',
    onMainThread,
    inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 1] }],
    outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 1] }],
    infer: () => new Promise<Tensor[]>((resolve) => waiting.push(() => resolve([{ name: 'y', datatype: 'FP32', shape: [1, 1], data: new Float32Array(1) }]))),
    finish: () => waiting.splice(0).forEach((f) => f()),
    memoryBytes: () => 0,
    unload: async () => undefined,
  };
}

const row: Tensor[] = [{ name: 'x', datatype: 'FP32', shape: [1, 1], data: new Float32Array(1) }];

/** Submits `n` requests and returns how many calls ran at once, then lets them finish. */
async function inFlight(model: LoadedModel & { finish(): void }, opts: SchedulerOptions, n: number, before?: (s: InferScheduler) => void): Promise<number> {
  const s = new InferScheduler(model, opts);
  before?.(s);
  const all = Array.from({ length: n }, () => s.submit(row, ['y']));
  const running = s.stats().running;
  while (s.inflight > 0) {
    model.finish();
    await new Promise((r) => setImmediate(r));
  }
  await Promise.all(all);
  return running;
}

describe('InferScheduler concurrency cap', () => {
  it('caps calls in flight at the configured concurrency', async () => {
    assert.equal(await inFlight(heldModel(false), { maxQueue: 16, concurrency: 2 }, 6), 2);
  });
  it('does not cap a model on the main thread under the default cap, also after a replica change', async () => {
    assert.equal(await inFlight(heldModel(true), { maxQueue: 16, concurrency: 2 }, 6), 6);
    assert.equal(await inFlight(heldModel(true), { maxQueue: 16, concurrency: 2 }, 6, (s) => s.setConcurrency(1)), 6);
  });
  it("keeps an InferenceService's own containerConcurrency for a model on the main thread", async () => {
    assert.equal(await inFlight(heldModel(true), { maxQueue: 16, concurrency: 2, concurrencySet: true }, 6), 2);
  });
});

/** A batching model that answers each call at once, echoing its rows, and records each call's row count. */
function echoModel(calls: number[]): LoadedModel {
  return {
    platform: 'test',
    inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 1] }],
    outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 1] }],
    infer: async (inputs) => {
      calls.push(inputs[0]!.shape[0]!);
      return [{ ...inputs[0]!, name: 'y' }];
    },
    memoryBytes: () => 0,
    unload: async () => undefined,
  };
}

describe('InferScheduler dynamic batching', () => {
  const rowOf = (v: number): Tensor[] => [{ name: 'x', datatype: 'FP32', shape: [1, 1], data: Float32Array.of(v) }];

  it('batches the requests of one event-loop turn together although a replica was free at the first', async () => {
    const calls: number[] = [];
    const s = new InferScheduler(echoModel(calls), { maxQueue: 64, concurrency: 2, batch: { maxBatchSize: 32, maxLatencyMs: 0 } });
    const answers = await Promise.all([1, 2, 3, 4, 5].map((v) => s.submit(rowOf(v), ['y'])));
    assert.deepEqual(calls, [5]);
    assert.deepEqual(answers.map((a) => Array.from(a[0]!.data as Float32Array)), [[1], [2], [3], [4], [5]]);
  });

  it('splits a turn larger than maxBatchSize over the free replicas and runs a lone request without waiting for more', async () => {
    const calls: number[] = [];
    const s = new InferScheduler(echoModel(calls), { maxQueue: 64, concurrency: 2, batch: { maxBatchSize: 4, maxLatencyMs: 0 } });
    await Promise.all(Array.from({ length: 6 }, (_, i) => s.submit(rowOf(i), ['y'])));
    assert.deepEqual(calls, [4, 2]);
    await s.submit(rowOf(9), ['y']);
    assert.deepEqual(calls, [4, 2, 1]);
  });
});
