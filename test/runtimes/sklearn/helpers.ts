import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import type { LoadContext } from '../../../src/runtimes/types.js';

/** test/fixtures/sklearn, found from both the source and the compiled (dist/) location. */
export const FIXTURES = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'test', 'fixtures', 'sklearn');
    try {
      if (statSync(candidate).isDirectory()) return candidate;
    } catch { /* keep climbing */ }
    dir = resolve(dir, '..');
  }
  throw new Error('test/fixtures/sklearn not found');
})();

export type Cell = number | string | null;

export interface Expected {
  estimator: string;
  input_kind: 'numeric' | 'strings';
  X: Cell[][];
  predict?: (number | string | boolean | number[])[];
  predict_proba?: number[][];
  decision_function?: number[] | number[][];
  transform?: number[][];
}

export function cases(): string[] {
  return readdirSync(FIXTURES).filter((d) => d !== 'hostile' && statSync(join(FIXTURES, d)).isDirectory()).sort();
}

export function hostileCases(): string[] {
  return readdirSync(join(FIXTURES, 'hostile')).sort();
}

export function expected(name: string): Expected {
  return JSON.parse(readFileSync(join(FIXTURES, name, 'expected.json'), 'utf8')) as Expected;
}

export function context(path: string, env: Record<string, string> = {}): LoadContext {
  return {
    name: 'test-model', path, format: { name: 'sklearn' }, args: [], env,
    threads: { intraOp: 1, interOp: 1 }, log: pino({ level: 'silent' }),
  };
}

/**
 * |a - b| <= 1e-12 · |b| (with a 1e-15 absolute floor for values that are 0 in sklearn).
 * Tighter than the 1e-9 the runtime promises; the worst case seen is ~2e-14 (BLAS dot order).
 */
export function close(a: number, b: number): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
  return Math.abs(a - b) <= 1e-12 * Math.abs(b) + 1e-15;
}

export function assertClose(actual: ArrayLike<number>, want: number[], what: string): void {
  if (actual.length !== want.length) throw new Error(`${what}: ${actual.length} values, expected ${want.length}`);
  for (let i = 0; i < want.length; i++) {
    if (!close(actual[i]!, want[i]!)) throw new Error(`${what}[${i}]: got ${actual[i]}, sklearn says ${want[i]} (diff ${Math.abs(actual[i]! - want[i]!)})`);
  }
}
