import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeGguf } from '../scripts/gen-gguf.js';
import { mlpGraph, writeModel } from '../scripts/gen-onnx-fixtures.js';
import { REPO_ROOT, startInferd, waitReady } from '../test/helpers/inferd-process.js';
import { mb, rssOf } from './process-memory.js';

const OUT = join(REPO_ROOT, 'bench-out');
const FIX = join(REPO_ROOT, 'test/fixtures');

/** One model of each kind the capacity model in docs/scaling.md counts. */
function models(): Array<{ name: string; format: string; uri: string; what: string }> {
  const big = join(OUT, 'mlp-big');
  writeModel(big, mlpGraph('mlp_big', [1024, 2048, 2048, 1000], 21).graph);
  const gguf = join(OUT, 'llm-bench-q8_0.gguf');
  writeGguf(gguf, { preset: 'bench', type: 'q8_0', seed: 42 });
  return [
    { name: 'onnx-tiny', format: 'onnx', uri: join(FIX, 'onnx/mlp'), what: 'ONNX MLP 4→8→3' },
    { name: 'onnx-big', format: 'onnx', uri: big, what: 'ONNX MLP 1024→2048→2048→1000 FP32 (32 MB file)' },
    { name: 'xgboost', format: 'xgboost', uri: join(FIX, 'xgboost/binary_logistic'), what: 'XGBoost binary:logistic fixture' },
    { name: 'sklearn', format: 'sklearn', uri: join(FIX, 'sklearn/random_forest_classifier'), what: 'sklearn RandomForestClassifier fixture' },
    { name: 'tensorflow', format: 'tensorflow', uri: join(FIX, 'tensorflow/generated/mlp'), what: 'TF SavedModel MLP 16→32→3' },
    { name: 'llm', format: 'gguf', uri: gguf, what: 'GGUF ~45M params Q8_0, context 2048' },
  ];
}

const size = (b: number) => (b < 1048576 ? `${(b / 1024).toFixed(0)} KB` : mb(b));

/**
 * Memory per loaded model and the idle server's own footprint: the memory side of
 * the capacity model (docs/scaling.md). Each model's figure is what inferd accounts
 * against `serving.memoryBytes` (runtime-reported, or the worker's RSS growth).
 */
export async function benchFootprint(): Promise<string[]> {
  mkdirSync(OUT, { recursive: true });
  const list = models();
  const manifest = join(OUT, 'footprint.yaml');
  writeFileSync(
    manifest,
    list
      .map((m) => `apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata: {name: ${m.name}}\nspec:\n  predictor:\n    model: {modelFormat: {name: ${m.format}}, storageUri: "file://${m.uri}"${m.format === 'gguf' ? ', args: ["--max-model-len=2048"]' : ''}}\n`)
      .join('---\n'),
  );
  const lines = ['Memory: idle server, then one model of each kind loaded (accounted bytes; process RSS)'];
  const idle = await startInferd([]);
  try {
    await waitReady(idle.http);
    await new Promise((r) => setTimeout(r, 500));
    lines.push(`idle inferd (no models)                  RSS ${mb(await rssOf(idle.child.pid!))}`);
  } finally {
    await idle.stop();
  }
  const srv = await startInferd(['-f', manifest]);
  try {
    await waitReady(srv.http, 180_000);
    const mem = (await (await fetch(`${srv.http}/apis/inferd.dev/v1/memory`)).json()) as { models: Array<{ name: string; memoryBytes: number }> };
    for (const m of list) {
      const got = mem.models.find((x) => x.name === m.name);
      lines.push(`${m.name.padEnd(12)} ${size(got?.memoryBytes ?? 0).padStart(8)}   ${m.what}`);
    }
    lines.push(`all six loaded                           RSS ${mb(await rssOf(srv.child.pid!))}`);
  } finally {
    await srv.stop();
  }
  return lines;
}
