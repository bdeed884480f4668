import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HEAVY_CALL_MICROS, REPLICA_MEMORY_SHARE, chooseThreads, type ThreadInputs } from '../../src/serving/replicas/thread-policy.js';

const base: ThreadInputs = { probeMicros: 20, cores: 2, intraOp: 1, replicas: 1, maxReplicas: 1, explicit: false, replicasFixed: false, memoryBytes: 40e6, totalMemory: 8 * 2 ** 30 };
const BUDGET = REPLICA_MEMORY_SHARE * base.totalMemory;
const pair = (i: ThreadInputs) => {
  const d = chooseThreads(i);
  return [d.replicas, d.intraOp];
};

describe('thread policy: replicas and intra-op threads from the measured cost and the cores', () => {
  it('keeps a light model at the server default so the event loop has a core', () => {
    for (const cores of [1, 2, 4, 16]) {
      const d = chooseThreads({ ...base, cores, intraOp: Math.max(1, cores - 1), probeMicros: HEAVY_CALL_MICROS - 1 });
      assert.deepEqual([d.replicas, d.intraOp], [1, Math.max(1, cores - 1)]);
      assert.match(d.reason, /light/);
    }
  });

  it('gives a heavy model one single-threaded replica per core', () => {
    for (const [cores, micros] of [[2, HEAVY_CALL_MICROS], [2, 60_000], [4, 5_000], [16, 2_000]] as const) {
      const d = chooseThreads({ ...base, cores, intraOp: cores - 1, probeMicros: micros });
      assert.deepEqual([d.replicas, d.intraOp], [cores, 1]);
      assert.match(d.reason, /heavy/);
    }
  });

  it('replicates a large model only as far as its copies fit, the cores shared as intra-op threads', () => {
    assert.deepEqual(pair({ ...base, cores: 4, intraOp: 3, probeMicros: 9_000, memoryBytes: BUDGET / 2 + 1 }), [1, 4]);
    assert.deepEqual(pair({ ...base, cores: 16, intraOp: 15, probeMicros: 9_000, memoryBytes: BUDGET / 4 }), [4, 4]);
    assert.deepEqual(pair({ ...base, cores: 16, intraOp: 15, probeMicros: 9_000, memoryBytes: BUDGET / 10 }), [10, 1]);
  });

  it('keeps the replicas a user asked for and shares the cores among them', () => {
    assert.deepEqual(pair({ ...base, cores: 8, probeMicros: 9_000, replicas: 2, maxReplicas: 2, replicasFixed: true }), [2, 4]);
    assert.deepEqual(pair({ ...base, cores: 2, probeMicros: 9_000, replicas: 3, maxReplicas: 3, replicasFixed: true }), [3, 1]);
    assert.deepEqual(pair({ ...base, cores: 4, intraOp: 3, probeMicros: 9_000, replicasFixed: true }), [1, 4]);
  });

  it('sizes threads for the most replicas autoscaling may run', () => {
    assert.deepEqual(pair({ ...base, cores: 8, probeMicros: 9_000, replicas: 1, maxReplicas: 4, replicasFixed: true }), [1, 2]);
    assert.deepEqual(pair({ ...base, cores: 2, probeMicros: 9_000, replicas: 1, maxReplicas: 2, replicasFixed: true }), [1, 1]);
  });

  it('stays at one replica of one thread on one core', () => {
    assert.deepEqual(pair({ ...base, cores: 1, probeMicros: 50_000 }), [1, 1]);
  });

  it("never overrides the user's threads, and keeps the default for an unmeasured model", () => {
    const user = chooseThreads({ ...base, cores: 8, intraOp: 3, probeMicros: 50_000, explicit: true });
    assert.deepEqual([user.replicas, user.intraOp], [1, 3]);
    assert.match(user.reason, /user/);
    const unknown = chooseThreads({ ...base, cores: 8, intraOp: 7, probeMicros: undefined });
    assert.deepEqual([unknown.replicas, unknown.intraOp], [1, 7]);
    assert.match(unknown.reason, /not measurable/);
  });
});
