import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { parseManifest } from '../../src/api/resources/manifest.js';
import { parseConfig } from '../../src/config/config.js';
import { REPO_ROOT } from '../helpers/inferd-process.js';
import { renderKustomization } from './kustomize.js';
import { formatIssues, readYamlDocs, validateObject, type K8sObject } from './validate-manifest.js';

const DEPLOY = join(REPO_ROOT, 'deploy/kubernetes');
const FORMATS = ['sklearn', 'xgboost', 'lightgbm', 'onnx', 'tensorflow', 'llm'];

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return yamlFiles(p);
    return /\.ya?ml$/.test(f) ? [p] : [];
  });
}

async function assertValid(obj: unknown, where: string): Promise<void> {
  const issues = await validateObject(obj);
  assert.deepEqual(issues, [], `${where}:\n${formatIssues(issues)}`);
}

const docsOf = (dir: string) => yamlFiles(join(DEPLOY, dir)).filter((f) => !f.endsWith('kustomization.yaml')).flatMap((f) => readYamlDocs(f) as K8sObject[]);

describe('deploy/kubernetes manifests validate offline', () => {
  it('every document of every file under deploy/kubernetes validates against its schema', async () => {
    const files = yamlFiles(DEPLOY);
    assert.ok(files.length >= 25, `found only ${files.length} files`);
    for (const file of files) {
      const docs = readYamlDocs(file);
      assert.ok(docs.length > 0, `${file} is empty`);
      for (const [i, doc] of docs.entries()) await assertValid(doc, `${relative(REPO_ROOT, file)} document ${i + 1}`);
    }
  });

  it('no Secret with values is committed; credentials are referenced by name', () => {
    for (const file of yamlFiles(DEPLOY)) {
      for (const doc of readYamlDocs(file) as K8sObject[]) assert.notEqual(doc.kind, 'Secret', `${file} commits a Secret`);
    }
    const deployment = readYamlDocs(join(DEPLOY, 'standalone/deployment.yaml'))[0] as K8sObject;
    const env = deployment.spec.template.spec.containers[0].env as Array<{ name: string; value?: string; valueFrom?: any }>;
    assert.ok(env.length > 0);
    for (const e of env) {
      assert.equal(e.value, undefined, `${e.name} has a literal value`);
      assert.equal(e.valueFrom.secretKeyRef.name, 'inferd-s3');
    }
  });

  it('the ClusterServingRuntimes are opt-in, KServe-shaped, restricted, and accepted by inferd too', () => {
    const runtimes = docsOf('runtimes');
    assert.deepEqual(runtimes.map((r) => r.metadata!.name).sort(), FORMATS.map((f) => `inferd-${f}`).sort());
    for (const rt of runtimes) {
      const name = rt.metadata!.name as string;
      assert.equal(rt.kind, 'ClusterServingRuntime');
      for (const f of rt.spec.supportedModelFormats) {
        assert.equal(f.autoSelect, false, `${name}: ${f.name} must not be auto-selected over KServe's runtimes`);
        assert.equal(f.priority, 1, `${name}: lowest priority`);
      }
      assert.ok(rt.spec.protocolVersions.every((p: string) => ['v1', 'v2', 'grpc-v1', 'grpc-v2'].includes(p)), `${name}: protocolVersions`);
      const c = rt.spec.containers[0];
      assert.equal(c.name, 'kserve-container');
      for (const arg of ['--model_name={{.Name}}', '--model_dir=/mnt/models', '--http_port=8080', '--grpc_port=8081']) assert.ok(c.args.includes(arg), `${name}: ${arg}`);
      assert.equal(c.args[0], 'serve');
      assert.equal(c.readinessProbe.httpGet.path, '/v2/health/ready');
      assert.equal(c.livenessProbe.httpGet.path, '/v2/health/live');
      assert.ok(c.resources.requests.cpu && c.resources.limits.memory, `${name}: resources`);
      assert.deepEqual(
        { ...c.securityContext, runAsUser: undefined, runAsGroup: undefined, privileged: undefined },
        { runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' }, runAsUser: undefined, runAsGroup: undefined, privileged: undefined },
      );
      assert.ok(c.volumeMounts.some((m: { mountPath: string }) => m.mountPath === '/tmp'), `${name}: writable /tmp on a read-only root`);
      // inferd reads the same YAML (its strict schema), so the runtime also works on one machine.
      assert.doesNotThrow(() => parseManifest(readFileSync(join(DEPLOY, `runtimes/${name}.yaml`), 'utf8')), name);
    }
  });

  it('each example InferenceService names its inferd runtime, and inferd accepts it', () => {
    const examples = docsOf('examples');
    assert.deepEqual(examples.map((e) => e.spec.predictor.model.runtime).sort(), FORMATS.map((f) => `inferd-${f}`).sort());
    const iris = examples.find((e) => e.metadata!.name === 'sklearn-iris')!;
    assert.equal(iris.spec.predictor.model.storageUri, 'gs://kfserving-examples/models/sklearn/1.0/model');
    for (const file of yamlFiles(join(DEPLOY, 'examples')).filter((f) => !f.endsWith('kustomization.yaml'))) {
      assert.doesNotThrow(() => parseManifest(readFileSync(file, 'utf8'), file), file);
    }
  });

  it('the standalone kustomization renders to valid objects with namespace, labels and image applied', async () => {
    const rendered = renderKustomization(join(DEPLOY, 'standalone'));
    for (const { object, source } of rendered) await assertValid(object, `rendered ${source}`);
    const kinds = rendered.map((r) => `${r.object.kind}/${r.object.metadata!.name}`).sort();
    for (const want of ['Deployment/inferd', 'Service/inferd', 'ConfigMap/inferd-config', 'ConfigMap/inferd-models', 'Deployment/inferd-redis', 'Service/inferd-redis',
      'PodDisruptionBudget/inferd', 'HorizontalPodAutoscaler/inferd', 'NetworkPolicy/inferd', 'NetworkPolicy/inferd-redis']) {
      assert.ok(kinds.includes(want), `${want} missing from ${kinds.join(', ')}`);
    }
    for (const { object } of rendered) {
      if (object.kind !== 'Namespace') assert.equal(object.metadata!.namespace, 'inferd', `${object.kind}/${object.metadata!.name}`);
      assert.equal(object.metadata!.labels['app.kubernetes.io/part-of'], 'inferd');
    }
    const deployment = rendered.find((r) => r.object.kind === 'Deployment' && r.object.metadata!.name === 'inferd')!.object;
    const pod = deployment.spec.template;
    assert.equal(pod.spec.containers[0].image, 'registry.example.com/ml/inferd:0.1.0');
    assert.equal(pod.metadata.labels['app.kubernetes.io/part-of'], 'inferd');
    // Selectors are left alone (labels without includeSelectors), so the PDB, HPA target and policies still match.
    assert.deepEqual(deployment.spec.selector.matchLabels, { 'app.kubernetes.io/name': 'inferd', 'app.kubernetes.io/component': 'server' });
    assert.equal(pod.spec.securityContext.runAsNonRoot, true);
    assert.equal(pod.spec.containers[0].securityContext.readOnlyRootFilesystem, true);
    assert.ok(pod.spec.volumes.some((v: { name: string; emptyDir?: object }) => v.name === 'data' && v.emptyDir));
    assert.equal(deployment.spec.replicas, undefined, 'the HPA owns the replica count');
  });

  it('the runtimes and examples kustomizations render too', async () => {
    const runtimes = renderKustomization(join(DEPLOY, 'runtimes'));
    assert.equal(runtimes.length, FORMATS.length);
    for (const { object, source } of runtimes) {
      await assertValid(object, source);
      assert.equal(object.metadata!.namespace, undefined, 'ClusterServingRuntimes are cluster-scoped');
      assert.equal(object.spec.containers[0].image, 'registry.example.com/ml/inferd:0.1.0');
    }
    assert.equal(renderKustomization(join(DEPLOY, 'examples')).length, FORMATS.length);
  });

  it("the standalone ConfigMaps hold a valid inferd config and valid InferenceServices", async () => {
    const [config] = readYamlDocs(join(DEPLOY, 'standalone/configmap.yaml')) as K8sObject[];
    const settings = parseConfig(parse(config!.data['inferd.yaml'] as string), 'inferd.yaml');
    assert.equal(settings.host, '0.0.0.0');
    assert.equal(settings.dataDir, '/var/lib/inferd');
    const [models] = readYamlDocs(join(DEPLOY, 'standalone/models-configmap.yaml')) as K8sObject[];
    const deployment = readYamlDocs(join(DEPLOY, 'standalone/deployment.yaml'))[0] as K8sObject;
    const args = deployment.spec.template.spec.containers[0].args as string[];
    for (const [key, text] of Object.entries(models!.data as Record<string, string>)) {
      await assertValid(parse(text), `inferd-models ${key}`);
      assert.doesNotThrow(() => parseManifest(text, key));
      assert.ok(args.includes(`/etc/inferd/models/${key}`), `the Deployment serves ${key}`);
    }
  });
});

describe('the validator fails where a cluster would', () => {
  const isvc = (predictor: object) => ({ apiVersion: 'serving.kserve.io/v1beta1', kind: 'InferenceService', metadata: { name: 'x' }, spec: { predictor } });

  it('rejects a misspelled field with its path', async () => {
    const issues = await validateObject(isvc({ model: { modelFormat: { name: 'sklearn' }, storageURI: 's3://b/m' } }));
    assert.deepEqual(issues, [{ path: 'spec.predictor.model.storageURI', message: 'unknown field' }]);
  });

  it('rejects a wrong type with its path, in KServe fields and in inlined core types', async () => {
    const issues = await validateObject(isvc({ minReplicas: 'two', model: { modelFormat: { name: 'onnx' }, readinessProbe: { periodSeconds: 'often' } } }));
    const paths = issues.map((i) => i.path);
    assert.ok(paths.includes('spec.predictor.minReplicas'), formatIssues(issues));
    assert.ok(paths.includes('spec.predictor.model.readinessProbe.periodSeconds'), formatIssues(issues));
  });

  it('rejects a bad ServingRuntime: unknown spec field, non-KServe protocol, bad core Container', async () => {
    const issues = await validateObject({
      apiVersion: 'serving.kserve.io/v1alpha1',
      kind: 'ClusterServingRuntime',
      metadata: { name: 'r' },
      spec: { supportedModelFormat: [], protocolVersions: ['openAI'], containers: [{ name: 'c', ports: [{ containerPort: 'http' }] }] },
    });
    const paths = issues.map((i) => i.path);
    for (const p of ['spec.supportedModelFormat', 'spec.protocolVersions[0]', 'spec.containers[0].ports[0].containerPort']) assert.ok(paths.includes(p), `${p} in\n${formatIssues(issues)}`);
  });

  it('rejects a built-in kind with a wrong type, and an unknown kind', async () => {
    const bad = await validateObject({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' }, spec: { replicas: 'many', selector: {}, template: {} } });
    assert.ok(bad.some((i) => i.path === 'spec.replicas'), formatIssues(bad));
    const unknown = await validateObject({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } });
    assert.match(formatIssues(unknown), /unknown kind example\.com\/v1\/Widget/);
  });

  it('refuses a kustomization feature the renderer does not implement', async () => {
    const issues = await validateObject({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: [], patches: [] });
    assert.deepEqual(issues.map((i) => i.path), ['patches']);
  });
});

describe('Containerfile', () => {
  const text = readFileSync(join(REPO_ROOT, 'Containerfile'), 'utf8');
  const stages = text.split(/^FROM /m).slice(1);
  const last = stages.at(-1)!;

  it('is multi-stage, and the runtime stage installs no build tools', () => {
    assert.ok(stages.length >= 2, 'multi-stage');
    assert.match(stages[0]!, /python3/);
    assert.match(stages[0]!, /npm ci/);
    assert.match(stages[0]!, /npm prune --omit=dev/);
    assert.doesNotMatch(last, /apt-get|apk add|\bg\+\+|\bmake\b|python3|npm (ci|install)/);
    assert.match(last, /^node:20-bookworm-slim|\/node:20-bookworm-slim/);
  });

  it('copies the patches that npm ci applies (postinstall) before it runs', () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    assert.match(pkg.scripts.postinstall ?? '', /patch-package/);
    const build = stages[0]!;
    assert.ok(build.indexOf('COPY patches') >= 0 && build.indexOf('COPY patches') < build.indexOf('RUN npm ci'), 'patches/ is copied before npm ci');
  });

  it('runs as a numeric non-root user with a node-based HEALTHCHECK, both ports and the inferd entrypoint', () => {
    const user = /^USER\s+(\d+)(?::(\d+))?\s*$/m.exec(last);
    assert.ok(user, 'numeric USER in the last stage');
    assert.notEqual(user[1], '0');
    assert.match(last, /^HEALTHCHECK .*node.*\/v2\/health\/live/ms);
    assert.match(last, /^EXPOSE 8080 8081$/m);
    assert.match(last, /^ENTRYPOINT \["node", "dist\/src\/cli\/main\.js"\]$/m);
    assert.match(last, /^CMD \["serve"/m);
    assert.match(last, /^VOLUME .*\/var\/lib\/inferd/m);
  });
});
