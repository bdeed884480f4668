/**
 * `trees-time.js <model.json> <rows.f32> <num_feature>`: times inferd's tree kernel at batch 1
 * and at the whole file's batch, in a process of its own, as XGBoost's side is timed in its own
 * python process, so that neither side runs in a process the sections before it have grown.
 * Prints `{"batch1_s", "batchN_s", "rows"}`: seconds per call.
 */
import { readFileSync } from 'node:fs';
import { buildXgboost } from '../src/runtimes/xgboost/xgboost-runtime.js';

/** Seconds per call: warm up, then repeat for at least a second. */
function time(fn: () => unknown): number {
  const warm = performance.now();
  while (performance.now() - warm < 300) fn();
  let n = 0;
  const t0 = performance.now();
  let el = 0;
  do {
    fn();
    n++;
    el = performance.now() - t0;
  } while (el < 1000);
  return el / 1000 / n;
}

const [modelFile, rowsFile, nfArg] = process.argv.slice(2);
const raw = readFileSync(rowsFile!);
const X = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
const nf = Number(nfArg);
const rows = X.length / nf;
const built = buildXgboost(readFileSync(modelFile!), [], 'bench model');
const one = X.subarray(0, nf);
console.log(JSON.stringify({ batch1_s: time(() => built.predict(one, 1)), batchN_s: time(() => built.predict(X, rows)), rows }));
