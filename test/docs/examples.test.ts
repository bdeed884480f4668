/**
 * The README and docs/ as a user reads them: every YAML block is checked by inferd's own
 * schemas (resources by the manifest validator, settings by the config schema), and the
 * shell lines that can run on this machine run, as written, against a real `inferd serve`
 * started the way the README says. What cannot run here is skipped by a visible rule.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { parseManifest } from '../../src/api/resources/manifest.js';
import { parseConfig } from '../../src/config/config.js';
import { CLI, REPO_ROOT } from '../helpers/inferd-process.js';
import { freePort } from '../../src/runtimes/process/process-manager.js';
import { docBlocks } from './doc-blocks.js';
import { startShell, type Shell } from './doc-shell.js';

const blocks = docBlocks(REPO_ROOT);

/** Kinds that belong to Kubernetes or kustomize, not to inferd's store (docs/kubernetes.md shows them). */
const CLUSTER_KINDS = new Set(['Deployment', 'Service', 'ConfigMap', 'Secret', 'Kustomization', 'PersistentVolumeClaim', 'ServiceAccount', 'Role', 'RoleBinding', 'Namespace']);

/** Shell lines that cannot run here, each with the reason. */
const SKIPPED_LINES: Array<[RegExp, string]> = [
  [/^(kubectl|helm|podman|docker)\b/, 'needs a cluster or a container engine'],
  [/^npm (ci|install|test)\b/, 'installs or runs this test suite itself'],
  [/\[[^\]]*\]/, 'a usage synopsis ([optional] parts), not a command'],
  [/ik_[0-9a-f]{12}\b/, "names the example's own key"],
  [/^inferd export\b/, 'writes a cluster directory for kubectl (docs/kubernetes.md)'],
];

function asInferenceService(fragment: Record<string, unknown>): Record<string, unknown> {
  const spec = fragment.spec as { predictor?: Record<string, unknown> } | undefined;
  const predictor = spec?.predictor ?? {};
  const model = predictor.model ?? { modelFormat: { name: 'onnx' }, storageUri: 'file:///models/example' };
  return { apiVersion: 'serving.kserve.io/v1beta1', kind: 'InferenceService', metadata: { name: 'example' }, ...fragment, spec: { ...spec, predictor: { ...predictor, model } } };
}

describe('docs: YAML blocks are valid for inferd', () => {
  for (const b of blocks.filter((x) => x.lang === 'yaml')) {
    it(b.where, () => {
      const docs = parseAllDocuments(b.text).map((d) => d.toJS() as Record<string, unknown> | null).filter((d) => d !== null);
      assert.ok(docs.length > 0, 'an empty block');
      const kinds = docs.map((d) => d.kind);
      if (kinds.every((k) => typeof k === 'string' && CLUSTER_KINDS.has(k))) return; // Kubernetes objects inferd does not own
      if (docs.every((d) => 'scrape_configs' in d)) return; // Prometheus's own configuration
      if (kinds.some((k) => k !== undefined)) {
        assert.doesNotThrow(() => parseManifest(b.text, b.where), `${b.where} is not a valid inferd manifest`);
        return;
      }
      for (const d of docs) {
        // `spec:` alone: the part of an InferenceService the text is about (a model added where it shows other fields).
        if ('spec' in d) assert.doesNotThrow(() => parseManifest(JSON.stringify(asInferenceService(d)), b.where), `${b.where} is not a valid InferenceService spec`);
        else assert.doesNotThrow(() => parseConfig(d, b.where), `${b.where} is not a valid inferd config`);
      }
    });
  }
});

describe('docs: shell lines run as written', () => {
  let shell: Shell;
  before(async () => {
    // The README's own first command, in a fresh directory holding the repository's examples.
    const cwd = mkdtempSync(join(tmpdir(), 'inferd-docs-'));
    symlinkSync(join(REPO_ROOT, 'examples'), join(cwd, 'examples'));
    const readme = blocks.find((b) => b.where.startsWith('README.md') && b.lang === 'sh' && /inferd serve/.test(b.text));
    assert.ok(readme, 'the README starts inferd');
    shell = await startShell({ cwd, cli: CLI, port: await freePort(), serveLine: readme.text.split('\n').find((l) => /inferd serve/.test(l))! });
  });
  after(async () => {
    await shell?.stop();
  });

  for (const b of blocks.filter((x) => x.lang === 'sh')) {
    const lines = b.text.replace(/\\\n\s*/g, ' ').split('\n').map((l) => l.replace(/\s+#.*$/, '').trim()).filter((l) => l && !l.startsWith('#'));
    for (const line of lines) {
      const skip = SKIPPED_LINES.find(([re]) => re.test(line.replace(/^npm ci && /, '')));
      const serve = /inferd serve/.test(line);
      it(`${b.where}: ${line.slice(0, 80)}`, { skip: serve ? 'the server these lines run against' : skip ? skip[1] : false }, async () => {
        const res = await shell.run(line);
        assert.equal(res.code, 0, `exit ${res.code}\nstdout: ${res.stdout.slice(0, 1000)}\nstderr: ${res.stderr.slice(0, 1000)}`);
        if (/^curl /.test(line)) assert.doesNotMatch(res.stdout, /"error"/, res.stdout.slice(0, 1000));
      });
    }
  }
});
