import { performance } from 'node:perf_hooks';
import { allocate } from '../../api/datatype.js';
import type { Tensor } from '../../api/inference.js';
import type { LoadedModel } from '../../runtimes/types.js';

const MAX_ELEMENTS = 1 << 20;
const MIN_CALLS = 12;
const CALLS = 200;
const BUDGET_MS = 30;
/** A slow model measured for the thread policy: a few calls, the fastest counts, within this. */
const SLOW_CALLS = 3;
const SLOW_BUDGET_MS = 300;

/**
 * Latency in microseconds of a model on zero inputs (dynamic dimensions as 1): the fastest
 * of a few calls, which other load on the machine disturbs least,
 * or undefined when it cannot be probed (text inputs, huge fixed shapes, an error) or is
 * far slower than `fastBelowMicros` (the probe stops after one call). With `measureSlow`, such a
 * slow model is called up to three times more after its warm-up call (at least once, then while
 * within 300 ms), and the fastest of those is its cost.
 */
export async function probeLatencyMicros(model: LoadedModel, fastBelowMicros: number, measureSlow = false): Promise<number | undefined> {
  if (!model.inputs.length || model.inputs.some((s) => s.datatype === 'BYTES')) return undefined;
  const inputs: Tensor[] = [];
  for (const s of model.inputs) {
    const shape = s.shape.map((d) => (d < 0 ? 1 : d));
    const count = shape.reduce((a, b) => a * b, 1);
    if (count > MAX_ELEMENTS) return undefined;
    inputs.push({ name: s.name, datatype: s.datatype, shape, data: allocate(s.datatype, count) });
  }
  const outputs = model.outputs.map((o) => o.name);
  const times: number[] = [];
  const started = performance.now();
  try {
    // Models often load side by side: many short calls give the minimum a quiet moment.
    for (let i = 0; i < CALLS && (i < MIN_CALLS || performance.now() - started < BUDGET_MS); i++) {
      const t0 = performance.now();
      await model.infer(inputs, outputs);
      const micros = (performance.now() - t0) * 1000;
      // The first call warms up (allocations, kernel selection) and bounds the probe's cost:
      // a model far slower than the threshold is not called again.
      if (i === 0 && micros > 100 * fastBelowMicros) return measureSlow ? await timed(model, inputs, outputs) : undefined;
      if (i > 0) times.push(micros);
    }
  } catch {
    return undefined;
  }
  return Math.min(...times);
}

async function timed(model: LoadedModel, inputs: Tensor[], outputs: string[]): Promise<number> {
  const started = performance.now();
  let best = Infinity;
  for (let i = 0; i < SLOW_CALLS && (i === 0 || performance.now() - started < SLOW_BUDGET_MS); i++) {
    const t0 = performance.now();
    await model.infer(inputs, outputs);
    best = Math.min(best, (performance.now() - t0) * 1000);
  }
  return best;
}
