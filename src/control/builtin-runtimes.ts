import type { ServingRuntime } from '../api/resources/serving-runtime.js';
import { RUNTIMES } from '../runtimes/index.js';

/**
 * inferd's built-in ClusterServingRuntimes, one per in-process runtime. They are
 * shaped like KServe's shipped runtimes so the same YAML runs in a cluster; a user's
 * runtime of the same name replaces one.
 */
export function builtinServingRuntimes(): ServingRuntime[] {
  return RUNTIMES.map((rt) => ({
    apiVersion: 'serving.kserve.io/v1alpha1',
    kind: 'ClusterServingRuntime',
    metadata: { name: rt.name, namespace: 'default', labels: { 'inferd.dev/builtin': 'true' } },
    spec: {
      supportedModelFormats: rt.formats.map((name) => ({ name, autoSelect: true, priority: 1 })),
      protocolVersions: ['v1', 'v2', 'grpc-v2'],
      containers: [
        {
          name: 'kserve-container',
          image: 'inferd:latest',
          args: ['--model_name={{.Name}}', '--model_dir=/mnt/models', '--http_port=8080'],
        },
      ],
    },
  }));
}
