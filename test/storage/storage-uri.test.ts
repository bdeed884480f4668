import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveStorageUri } from '../../src/storage/storage-uri.js';
import { findModelFile } from '../../src/storage/model-file.js';

describe('storage URIs', () => {
  const root = mkdtempSync(join(tmpdir(), 'inferd-pvc-'));
  mkdirSync(join(root, 'models/a'), { recursive: true });
  const outside = mkdtempSync(join(tmpdir(), 'inferd-outside-'));
  symlinkSync(outside, join(root, 'models/escape'));
  const config = { pvcs: { claim: root } };
  const opts = { baseDir: '/manifests', fileRoots: 'any' as const };

  it('resolves file:// absolute and relative to the manifest, and pvc:// under its root', async () => {
    assert.equal(await resolveStorageUri('file:///srv/m', config, opts), '/srv/m');
    assert.equal(await resolveStorageUri('file://models/x', config, opts), '/manifests/models/x');
    assert.equal(await resolveStorageUri('pvc://claim/models/a', config, opts), join(root, 'models/a'));
  });

  it('refuses paths that leave the PVC root, by .., encoding or symlink', async () => {
    for (const uri of ['pvc://claim/../etc', 'pvc://claim/models/%2e%2e/%2e%2e/etc', 'pvc://claim//etc/passwd', 'pvc://claim/models/escape']) {
      await assert.rejects(resolveStorageUri(uri, config, opts), /leaves the PVC's root/, uri);
    }
  });

  it('names unmapped claims and unsupported schemes', async () => {
    await assert.rejects(resolveStorageUri('pvc://other/x', config, opts), /no PVC named "other"/);
    await assert.rejects(resolveStorageUri('gs://bucket/x', config, opts), /scheme "gs" is not supported/);
  });

  it('finds the model file as KServe runtimes do', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'inferd-find-'));
    await assert.rejects(findModelFile(dir, { names: ['model.onnx'], extensions: ['.onnx'] }), /no model file/);
    writeFileSync(join(dir, 'resnet.onnx'), 'x');
    assert.equal(await findModelFile(dir, { names: ['model.onnx'], extensions: ['.onnx'] }), join(dir, 'resnet.onnx'));
    writeFileSync(join(dir, 'other.onnx'), 'x');
    await assert.rejects(findModelFile(dir, { names: ['model.onnx'], extensions: ['.onnx'] }), /several model files/);
    writeFileSync(join(dir, 'model.onnx'), 'x');
    assert.equal(await findModelFile(dir, { names: ['model.onnx'], extensions: ['.onnx'] }), join(dir, 'model.onnx'));
  });
});
