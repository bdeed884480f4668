import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HEAVY_CALL_MICROS, chooseThreads, type ThreadInputs } from '../../src/serving/replicas/thread-policy.js';

const base: ThreadInputs = { probeMicros: 20, cores: 2, intraOp: 1, replicas: 1, explicit: false };

describe('thread policy: intra-op threads from the measured cost and the cores', () => {
  it('keeps a light model at the server default so the event loop has a core', () => {
    for (const cores of [1, 2, 4, 16]) {
      const d = chooseThreads({ ...base, cores, intraOp: Math.max(1, cores - 1), probeMicros: HEAVY_CALL_MICROS - 1 });
      assert.deepEqual([d.intraOp, d.replicas], [Math.max(1, cores - 1), 1]);
      assert.match(d.reason, /light/);
    }
  });

  it('gives a heavy model every core', () => {
    for (const [cores, micros] of [[2, HEAVY_CALL_MICROS], [2, 60_000], [4, 5_000], [16, 2_000]] as const) {
      const d = chooseThreads({ ...base, cores, intraOp: cores - 1, probeMicros: micros });
      assert.deepEqual([d.intraOp, d.replicas], [cores, 1]);
      assert.match(d.reason, /heavy/);
    }
  });

  it('shares the cores among the replicas a user asked for', () => {
    assert.deepEqual(chooseThreads({ ...base, cores: 8, probeMicros: 9_000, replicas: 2 }).intraOp, 4);
    assert.deepEqual(chooseThreads({ ...base, cores: 2, probeMicros: 9_000, replicas: 3 }).intraOp, 1);
  });

  it('stays on one thread on one core', () => {
    assert.equal(chooseThreads({ ...base, cores: 1, probeMicros: 50_000 }).intraOp, 1);
  });

  it("never overrides the user's threads, and keeps the default for an unmeasured model", () => {
    const user = chooseThreads({ ...base, cores: 8, intraOp: 3, probeMicros: 50_000, explicit: true });
    assert.deepEqual([user.intraOp, user.replicas], [3, 1]);
    assert.match(user.reason, /user/);
    const unknown = chooseThreads({ ...base, cores: 8, intraOp: 7, probeMicros: undefined });
    assert.equal(unknown.intraOp, 7);
    assert.match(unknown.reason, /not measurable/);
  });
});
