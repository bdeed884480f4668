import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ONNX_FIXTURES } from '../helpers/fixtures.js';
import { CLI, startInferd, type InferdProcess } from '../helpers/inferd-process.js';
import { renderKustomization } from './kustomize.js';
import { formatIssues, readYamlDocs, validateObject, type K8sObject } from './validate-manifest.js';

const run = promisify(execFile);

// Credentials the server can see (its env, its credentials file, a predictor's env, a URL):
// none of them may reach the exported files or the command's output.
const SECRETS = {
  envKeyId: 'AKIAEXPORTTESTKEYID01',
  envSecret: 'env-secret-never-export-7f3a9c',
  fileSecret: 'file-secret-never-export-41d2e8',
  predictorSecret: 'predictor-secret-never-export-9b1c',
  urlPassword: 'url-password-never-export-55aa',
  urlSignature: 'urlsignature-never-export-0c0c',
  runtimeToken: 'runtime-token-never-export-77e1',
};

describe('inferd export: cluster-ready manifests from a running server', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'inferd-export-'));
  const work = mkdtempSync(join(tmpdir(), 'inferd-export-work-'));
  const out = join(work, 'exported');
  let srv: InferdProcess;
  let result: { stdout: string; stderr: string };
  let docs: Map<string, K8sObject>;

  before(async () => {
    const secretFile = join(work, 's3-secret.yaml');
    writeFileSync(secretFile, `apiVersion: v1\nkind: Secret\nmetadata: {name: s3}\nstringData:\n  awsAccessKeyID: FILEKEYID\n  awsSecretAccessKey: ${SECRETS.fileSecret}\n`);
    const config = join(work, 'inferd.yaml');
    writeFileSync(config, `storage:\n  fileRoots: ["${ONNX_FIXTURES}"]\n  s3:\n    endpoint: http://127.0.0.1:9\n    credentialsFile: ${secretFile}\n`);
    // Keys on: the CLI must find the bootstrap admin key under --data-dir, as an operator's would.
    srv = await startInferd(['--auth', 'keys', '--config', config], {
      dataDir,
      env: { AWS_ACCESS_KEY_ID: SECRETS.envKeyId, AWS_SECRET_ACCESS_KEY: SECRETS.envSecret },
    });
    const manifests = join(work, 'resources.yaml');
    writeFileSync(manifests, `apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata:
  name: iris
  labels: {team: ml}
  annotations: {inferd.dev/prediction-cache: "true"}
spec:
  predictor:
    minReplicas: 1
    model:
      modelFormat: {name: onnx}
      storageUri: file://${join(ONNX_FIXTURES, 'mlp')}
      env:
        - {name: AWS_SECRET_ACCESS_KEY, value: ${SECRETS.predictorSecret}}
        - {name: LOG_FORMAT, value: json}
---
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata:
  name: from-s3
spec:
  predictor:
    model:
      modelFormat: {name: onnx}
      storageUri: s3://models/onnx/mlp
---
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata:
  name: from-web
  namespace: team-a
spec:
  predictor:
    model:
      modelFormat: {name: onnx}
      storageUri: https://loader:${SECRETS.urlPassword}@models.invalid/mlp/model.onnx?X-Amz-Signature=${SECRETS.urlSignature}
---
apiVersion: serving.kserve.io/v1alpha1
kind: ServingRuntime
metadata:
  name: custom-onnx
  namespace: team-a
spec:
  supportedModelFormats:
    - {name: onnx, version: "1", autoSelect: true, priority: 2}
  protocolVersions: [v2]
  containers:
    - name: kserve-container
      image: registry.example.com/onnx-server:1.0
      env:
        - {name: HF_TOKEN, value: ${SECRETS.runtimeToken}}
`);
    await run(process.execPath, [CLI, 'apply', '-f', manifests, '--server', srv.http, '--data-dir', dataDir]);
    result = await run(process.execPath, [CLI, 'export', '-o', out, '--storage-service-account', 'models-s3', '--server', srv.http, '--data-dir', dataDir]);
    docs = new Map(readdirSync(out).map((f) => [f, readYamlDocs(join(out, f))[0] as K8sObject]));
  });
  after(async () => {
    await srv.stop();
  });

  it('writes one file per resource and a kustomization listing them', () => {
    assert.deepEqual([...docs.keys()].sort(), [
      'inferenceservice-default-from-s3.yaml',
      'inferenceservice-default-iris.yaml',
      'inferenceservice-team-a-from-web.yaml',
      'kustomization.yaml',
      'servingruntime-team-a-custom-onnx.yaml',
    ]);
    assert.deepEqual([...docs.get('kustomization.yaml')!.resources].sort(), [...docs.keys()].filter((f) => f !== 'kustomization.yaml').sort());
    assert.match(result.stdout, /wrote 4 resources and kustomization\.yaml/);
  });

  it('every exported file validates against the KServe CRD schemas, also as a rendered kustomization', async () => {
    for (const [file, doc] of docs) {
      const issues = await validateObject(doc);
      assert.deepEqual(issues, [], `${file}:\n${formatIssues(issues)}`);
    }
    const rendered = renderKustomization(out);
    assert.equal(rendered.length, 4);
    for (const { object } of rendered) assert.deepEqual(await validateObject(object), []);
  });

  it('drops status and server-managed metadata, keeps labels and annotations', () => {
    const iris = docs.get('inferenceservice-default-iris.yaml')!;
    assert.equal(iris.status, undefined);
    assert.deepEqual(Object.keys(iris.metadata!).sort(), ['annotations', 'labels', 'name', 'namespace']);
    assert.deepEqual(iris.metadata!.labels, { team: 'ml' });
    assert.deepEqual(iris.metadata!.annotations, { 'inferd.dev/prediction-cache': 'true' });
    assert.equal(iris.spec.predictor.minReplicas, 1);
  });

  it('maps a local model path to a PVC URI and warns naming it', () => {
    const iris = docs.get('inferenceservice-default-iris.yaml')!;
    assert.equal(iris.spec.predictor.model.storageUri, 'pvc://inferd-models/iris/mlp');
    assert.match(result.stderr, /warning: inferenceservice\/default\/iris: .*storageUri file:\/\/\S+mlp is a local path; mapped to pvc:\/\/inferd-models\/iris\/mlp/);
  });

  it('references credentials by name only: secretKeyRef, serviceAccountName, cleaned URLs', () => {
    const iris = docs.get('inferenceservice-default-iris.yaml')!;
    assert.deepEqual(iris.spec.predictor.model.env, [
      { name: 'AWS_SECRET_ACCESS_KEY', valueFrom: { secretKeyRef: { name: 'inferd-model-credentials', key: 'AWS_SECRET_ACCESS_KEY' } } },
      { name: 'LOG_FORMAT', value: 'json' },
    ]);
    assert.equal(docs.get('inferenceservice-default-from-s3.yaml')!.spec.predictor.serviceAccountName, 'models-s3');
    assert.equal(docs.get('inferenceservice-team-a-from-web.yaml')!.spec.predictor.model.storageUri, 'https://models.invalid/mlp/model.onnx');
    const runtime = docs.get('servingruntime-team-a-custom-onnx.yaml')!;
    assert.deepEqual(runtime.spec.containers[0].env, [{ name: 'HF_TOKEN', valueFrom: { secretKeyRef: { name: 'inferd-model-credentials', key: 'HF_TOKEN' } } }]);
    assert.equal(runtime.spec.supportedModelFormats[0].priority, 2);
    assert.match(result.stderr, /from-web: predictor\.model storageUri had credentials in the URL/);
  });

  it('no credential value appears in any exported file or in the output', () => {
    const adminKey = readFileSync(join(dataDir, 'admin.key'), 'utf8').trim();
    const texts = [...readdirSync(out).map((f) => readFileSync(join(out, f), 'utf8')), result.stdout, result.stderr];
    for (const [what, value] of Object.entries({ ...SECRETS, adminKey })) {
      for (const text of texts) assert.ok(!text.includes(value), `${what} leaked`);
    }
  });

  it('-n exports one namespace', async () => {
    const only = join(work, 'team-a');
    await run(process.execPath, [CLI, 'export', '-o', only, '-n', 'team-a', '--server', srv.http, '--data-dir', dataDir]);
    assert.deepEqual(readdirSync(only).sort(), ['inferenceservice-team-a-from-web.yaml', 'kustomization.yaml', 'servingruntime-team-a-custom-onnx.yaml']);
  });
});
