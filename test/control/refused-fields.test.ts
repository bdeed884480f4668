import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InferdError } from '../../src/api/errors.js';
import { parseManifest } from '../../src/api/resources/manifest.js';
import { unsupportedFields } from '../../src/api/resources/unsupported.js';

const isvc = (spec: string) => `apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata: {name: m}
spec:
  predictor:
    model: {modelFormat: {name: xgboost}, storageUri: /models/m}
${spec}`;

const refused = (text: string, field: string) =>
  assert.throws(() => parseManifest(text), (err: unknown) =>
    InferdError.is(err) && err.code === 'invalid_input' && err.field === field && err.message.includes(`field ${field}: not supported by inferd`));

describe('KServe fields inferd does not implement are refused, naming the field', () => {
  it('spec.transformer and spec.explainer', () => {
    refused(isvc('  transformer:\n    containers: [{name: kserve-container, image: t:1}]\n'), 'spec.transformer');
    refused(isvc('  explainer:\n    alibi: {type: AnchorTabular}\n'), 'spec.explainer');
  });

  it('model.storage on the predictor, on a legacy framework field and in a canary entry', () => {
    refused(isvc('').replace('storageUri: /models/m}', 'storageUri: /models/m, storage: {key: s3, path: m}}'), 'spec.predictor.model.storage');
    refused(`apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata: {name: m}
spec:
  predictor:
    sklearn: {storage: {path: m}, storageUri: /models/m}
`, 'spec.predictor.model.storage');
    refused(isvc('  canary:\n    - trafficPercent: 10\n      predictor: {model: {modelFormat: {name: xgboost}, storage: {path: x}}}\n'), 'spec.canary[0].predictor.model.storage');
  });

  it('placement fields are accepted and reported as having no local effect', () => {
    const [item] = parseManifest(isvc('').replace('  predictor:\n', '  predictor:\n    nodeSelector: {gpu: "true"}\n'));
    assert.deepEqual(unsupportedFields(item!.resource), ['spec.predictor.nodeSelector']);
  });
});
