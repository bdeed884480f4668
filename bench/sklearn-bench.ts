/** In-process throughput of the sklearn runtime on the committed tree-ensemble fixtures (no Python needed). */
import { readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import type { Tensor } from '../src/api/inference.js';
import { sklearnRuntime } from '../src/runtimes/sklearn/index.js';
import type { LoadedModel } from '../src/runtimes/types.js';

function fixtures(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const c = join(dir, 'test', 'fixtures', 'sklearn');
    try {
      if (statSync(c).isDirectory()) return c;
    } catch { /* climb */ }
    dir = resolve(dir, '..');
  }
  throw new Error('test/fixtures/sklearn not found');
}

function batch(rows: (number | null)[][], n: number): Tensor {
  const cols = rows[0]!.length;
  const data = new Float64Array(n * cols);
  for (let r = 0; r < n; r++) for (let c = 0; c < cols; c++) data[r * cols + c] = rows[r % rows.length]![c] ?? NaN;
  return { name: 'input-0', datatype: 'FP64', shape: [n, cols], data };
}

async function rowsPerSecond(model: LoadedModel, input: Tensor, outputs: string[], minMs: number): Promise<number> {
  for (let i = 0; i < 20; i++) await model.infer([input], outputs); // warm-up
  let calls = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < minMs) {
    await model.infer([input], outputs);
    calls++;
    t = performance.now();
  }
  return (calls * input.shape[0]!) / ((t - t0) / 1000);
}

export async function benchSklearn(): Promise<string[]> {
  const root = fixtures();
  const lines: string[] = [];
  const cases = [
    ['random_forest_classifier', 'RandomForestClassifier (8 trees, depth 6, 4 features)'],
    ['random_forest_regressor', 'RandomForestRegressor (8 trees, depth 6, 5 features)'],
    ['hist_gradient_boosting_classifier_binary', 'HistGradientBoostingClassifier (15 iterations, NaNs)'],
    ['hist_gradient_boosting_regressor', 'HistGradientBoostingRegressor (20 iterations, NaNs)'],
  ] as const;
  for (const [dir, label] of cases) {
    const path = join(root, dir);
    const model = await sklearnRuntime.load({
      name: dir, path, format: { name: 'sklearn' }, args: [], env: {}, threads: { intraOp: 1, interOp: 1 }, log: pino({ level: 'silent' }),
    });
    const x = (JSON.parse(readFileSync(join(path, 'expected.json'), 'utf8')) as { X: (number | null)[][] }).X;
    const outputs = model.outputs.map((o) => o.name).filter((n) => n !== 'decision_function');
    for (const n of [1, 1000]) {
      const rps = await rowsPerSecond(model, batch(x, n), outputs, 500);
      lines.push(`sklearn ${label}: batch ${n}: ${Math.round(rps).toLocaleString('en-US')} rows/s (${outputs.join('+')})`);
    }
  }
  return lines;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  for (const line of await benchSklearn()) console.log(line);
}
