import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startInferd } from '../helpers/inferd-process.js';
import { ONNX_FIXTURES } from '../helpers/fixtures.js';

const manifest = (name: string) =>
  `apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata: {name: ${name}}\nspec: {predictor: {onnx: {storageUri: "file://${join(ONNX_FIXTURES, 'mlp')}"}}}\n`;

async function until(pred: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await pred()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('serve -f DIR watches the directory (GitOps on one machine)', () => {
  it('applies added files, prunes removed ones, and ignores a broken edit', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'inferd-gitops-'));
    writeFileSync(join(dir, 'a.yaml'), manifest('model-a'));
    const srv = await startInferd(['-f', dir]);
    try {
      const status = (name: string) => fetch(`${srv.http}/v2/models/${name}/ready`).then((r) => r.status);
      await until(async () => (await status('model-a')) === 200, 'model-a ready');
      writeFileSync(join(dir, 'b.yaml'), manifest('model-b'));
      await until(async () => (await status('model-b')) === 200, 'model-b applied from a new file');
      rmSync(join(dir, 'a.yaml'));
      await until(async () => (await status('model-a')) === 404, 'model-a pruned with its file');
      writeFileSync(join(dir, 'b.yaml'), 'kind: [unclosed');
      await srv.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('manifest change not applied'));
      assert.equal(await status('model-b'), 200, 'a broken edit changes nothing');
    } finally {
      await srv.stop();
    }
  });
});
