import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadManifests } from '../../src/api/resources/manifest.js';
import { findModelFile } from '../../src/storage/model-file.js';
import { REPO_ROOT } from '../helpers/inferd-process.js';

/** Lays out `files` the way the kubelet mounts a ConfigMap: symlinks into a hidden, atomically swapped directory. */
function configMapVolume(files: Record<string, string | { copy: string }>): string {
  const root = mkdtempSync(join(tmpdir(), 'inferd-cm-'));
  const stamp = '..2026_11_25_09_00_00.123456789';
  mkdirSync(join(root, stamp));
  for (const [name, content] of Object.entries(files)) {
    if (typeof content === 'string') writeFileSync(join(root, stamp, name), content);
    else copyFileSync(content.copy, join(root, stamp, name));
  }
  symlinkSync(stamp, join(root, '..data'));
  for (const name of Object.keys(files)) symlinkSync(join('..data', name), join(root, name));
  return root;
}

describe('directories mounted from a ConfigMap (symlinked files)', () => {
  it('serve -f DIR reads the symlinked manifests and ignores the hidden entries', async () => {
    const isvc = (name: string) => `apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata: {name: ${name}}\nspec:\n  predictor:\n    model: {modelFormat: {name: onnx}, storageUri: "file:///models/${name}"}\n`;
    const dir = configMapVolume({ 'a.yaml': isvc('a'), 'b.yml': isvc('b'), 'notes.txt': 'not a manifest' });
    const loaded = await loadManifests([dir]);
    assert.deepEqual(loaded.map((l) => l.resource.metadata.name), ['a', 'b']);
  });

  it('finds a symlinked model file in a model directory', async () => {
    const dir = configMapVolume({ 'model.onnx': { copy: join(REPO_ROOT, 'test/fixtures/onnx/mlp/model.onnx') } });
    assert.equal(await findModelFile(dir, { names: ['model.onnx'], extensions: ['.onnx'] }), join(dir, 'model.onnx'));
  });
});
