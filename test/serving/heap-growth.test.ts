import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setServingHeapGrowth } from '../../src/serving/heap-growth.js';

describe('V8 heap growth of a serving process', () => {
  it('keeps the factor a user gave node, and otherwise lets the old generation grow ×4', () => {
    assert.deepEqual(setServingHeapGrowth(['--heap-growing-percent=50']), { percent: 50, by: 'user' });
    assert.deepEqual(setServingHeapGrowth(['--heap_growing_percent=20']), { percent: 20, by: 'user' });
    assert.deepEqual(setServingHeapGrowth(['--max-old-space-size=512']), { percent: 300, by: 'inferd' });
  });
});
