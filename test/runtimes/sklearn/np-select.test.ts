import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { argpartition, argsortInPlace } from '../../../src/runtimes/sklearn/np-select.js';
import { FIXTURES } from './helpers.js';

interface Case { a: number[]; kth: number; argpartition: number[]; argsort: number[] }
const { cases } = JSON.parse(readFileSync(join(FIXTURES, 'numpy-select.json'), 'utf8')) as { cases: Case[] };

test('argpartition and argsort place equal values exactly where numpy does', () => {
  assert.ok(cases.length >= 500);
  for (const [i, c] of cases.entries()) {
    const v = Float64Array.from(c.a);
    const part = Int32Array.from(c.a, (_, j) => j);
    argpartition(v, part, v.length, c.kth);
    assert.deepEqual(Array.from(part), c.argpartition, `case ${i}: argpartition(kth=${c.kth}) of ${c.a.length}`);
    const order = Int32Array.from(c.a, (_, j) => j);
    argsortInPlace(v, order, v.length);
    assert.deepEqual(Array.from(order), c.argsort, `case ${i}: argsort of ${c.a.length}`);
  }
});
