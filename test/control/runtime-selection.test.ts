import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ServingRuntime } from '../../src/api/resources/serving-runtime.js';
import { RuntimeSelectionError, selectRuntime } from '../../src/control/runtime-selection.js';
import { expandTemplate } from '../../src/control/template.js';

function rt(name: string, kind: 'ServingRuntime' | 'ClusterServingRuntime', formats: ServingRuntime['spec']['supportedModelFormats'], extra: Partial<ServingRuntime['spec']> = {}): ServingRuntime {
  return { apiVersion: 'serving.kserve.io/v1alpha1', kind, metadata: { name, namespace: 'default' }, spec: { supportedModelFormats: formats, containers: [{ name: 'kserve-container' }], ...extra } } as ServingRuntime;
}

const model = (name: string, extra: Record<string, unknown> = {}) => ({ modelFormat: { name }, ...extra }) as Parameters<typeof selectRuntime>[0];

describe('runtime selection follows KServe', () => {
  const low = rt('low', 'ClusterServingRuntime', [{ name: 'onnx', autoSelect: true, priority: 1 }]);
  const high = rt('high', 'ClusterServingRuntime', [{ name: 'onnx', autoSelect: true, priority: 5 }]);
  const noAuto = rt('manual', 'ClusterServingRuntime', [{ name: 'onnx', priority: 9 }]);

  it('picks the highest priority autoSelect runtime', () => {
    assert.equal(selectRuntime(model('onnx'), { namespaced: [], cluster: [low, high, noAuto] }).metadata.name, 'high');
  });

  it('prefers a namespace runtime over cluster runtimes', () => {
    const ns = rt('mine', 'ServingRuntime', [{ name: 'onnx', autoSelect: true, priority: 1 }]);
    assert.equal(selectRuntime(model('onnx'), { namespaced: [ns], cluster: [high] }).metadata.name, 'mine');
  });

  it('matches versions as exact strings and lets unversioned models match any', () => {
    const v1 = rt('v1', 'ClusterServingRuntime', [{ name: 'sklearn', version: '1', autoSelect: true }]);
    assert.equal(selectRuntime(model('sklearn'), { namespaced: [], cluster: [v1] }).metadata.name, 'v1');
    assert.throws(() => selectRuntime({ modelFormat: { name: 'sklearn', version: '1.2' } } as never, { namespaced: [], cluster: [v1] }), /NoSupportingRuntime|no runtime/);
  });

  it('skips disabled runtimes and ones lacking the protocol', () => {
    const disabled = rt('off', 'ClusterServingRuntime', [{ name: 'onnx', autoSelect: true, priority: 9 }], { disabled: true });
    const v2only = rt('v2', 'ClusterServingRuntime', [{ name: 'onnx', autoSelect: true, priority: 8 }], { protocolVersions: ['v2'] });
    assert.equal(selectRuntime(model('onnx'), { namespaced: [], cluster: [disabled, v2only, low] }).metadata.name, 'low');
    assert.equal(selectRuntime(model('onnx', { protocolVersion: 'v2' }), { namespaced: [], cluster: [disabled, v2only, low] }).metadata.name, 'v2');
  });

  it('an explicit runtime name wins even without autoSelect, and errors carry KServe reasons', () => {
    assert.equal(selectRuntime(model('onnx', { runtime: 'manual' }), { namespaced: [], cluster: [high, noAuto] }).metadata.name, 'manual');
    const reason = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        return (err as RuntimeSelectionError).reason;
      }
      return undefined;
    };
    assert.equal(reason(() => selectRuntime(model('onnx', { runtime: 'ghost' }), { namespaced: [], cluster: [high] })), 'RuntimeNotRecognized');
    const disabled = rt('off', 'ClusterServingRuntime', [{ name: 'onnx' }], { disabled: true });
    assert.equal(reason(() => selectRuntime(model('onnx', { runtime: 'off' }), { namespaced: [], cluster: [disabled] })), 'RuntimeDisabled');
    assert.equal(reason(() => selectRuntime(model('caffe'), { namespaced: [], cluster: [high] })), 'NoSupportingRuntime');
  });
});

describe('runtime arg templates', () => {
  it('expands KServe placeholders and leaves unknown ones', () => {
    const meta = { name: 'iris', namespace: 'team', labels: { tier: 'gold' } };
    assert.equal(expandTemplate('--model_name={{.Name}} --ns={{ .Namespace }} --t={{.Labels.tier}} --x={{.Labels.none}}', meta), '--model_name=iris --ns=team --t=gold --x={{.Labels.none}}');
  });
});
