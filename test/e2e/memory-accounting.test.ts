import assert from 'node:assert/strict';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { REPO_ROOT, startInferd, waitReady } from '../helpers/inferd-process.js';

const FIXTURES = join(REPO_ROOT, 'test/fixtures');
const MODELS: Record<string, { format: string; uri: string; file: string }> = {
  'onnx-mlp': { format: 'onnx', uri: 'onnx/mlp', file: 'onnx/mlp/model.onnx' },
  'sk-tree': { format: 'sklearn', uri: 'sklearn/decision_tree_classifier', file: 'sklearn/decision_tree_classifier/model.joblib' },
  'sk-knn': { format: 'sklearn', uri: 'sklearn/knn_classifier', file: 'sklearn/knn_classifier/model.joblib' },
  'xgb': { format: 'xgboost', uri: 'xgboost/binary_logistic/model.json', file: 'xgboost/binary_logistic/model.json' },
};

/** The figure each model is accounted as, from `inferd_model_memory_bytes`, after loading every model on a fresh server. */
async function accounted(dir: string): Promise<Record<string, number>> {
  const srv = await startInferd(['-f', join(dir, 'models.yaml')]);
  try {
    await waitReady(srv.http, 60_000);
    const text = await (await fetch(`${srv.http}/metrics`)).text();
    const out: Record<string, number> = {};
    for (const name of Object.keys(MODELS)) {
      const m = new RegExp(`^inferd_model_memory_bytes\\{[^}]*model="${name}"[^}]*\\} (\\d+)$`, 'm').exec(text);
      assert.ok(m, `no memory figure for ${name}`);
      out[name] = Number(m[1]);
    }
    return out;
  } finally {
    await srv.stop();
  }
}

describe('memory accounting', () => {
  it('accounts each model the same on every run, from what it holds', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'inferd-mem-acct-'));
    writeFileSync(join(dir, 'models.yaml'), Object.entries(MODELS).map(([name, m]) => `---
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata: {name: ${name}}
spec: {predictor: {model: {modelFormat: {name: ${m.format}}, storageUri: "file://${join(FIXTURES, m.uri)}"}}}
`).join(''));
    const first = await accounted(dir);
    const second = await accounted(dir);
    assert.deepEqual(second, first, 'the same models, loaded the same way, are accounted the same');
    // ONNX: the weights file onnxruntime holds, exactly (it used to be an RSS delta: 545 B to 15.5 MiB).
    assert.equal(first['onnx-mlp'], statSync(join(FIXTURES, MODELS['onnx-mlp']!.file)).size);
    for (const [name, bytes] of Object.entries(first)) {
      const file = statSync(join(FIXTURES, MODELS[name]!.file)).size;
      // Classic models: what inferd's own readers decoded, within a small factor of the file.
      assert.ok(bytes > 0 && bytes < 64 * file + 16 * 1024 * 1024, `${name}: ${bytes} bytes for a ${file}-byte file`);
    }
  });
});
