import { join } from 'node:path';
import { writeGguf } from '../../scripts/gen-gguf.js';

/**
 * Writes a random-weight GGUF (scripts/gen-gguf.ts, preset `tiny`) into `dir` and returns an
 * InferenceService named `tiny` that serves it with these vLLM-style `args`.
 */
export function tinyLlmService(dir: string, seed: number, args: readonly string[]): string {
  const file = join(dir, 'tiny.gguf');
  writeGguf(file, { preset: 'tiny', seed });
  return `apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata:
  name: tiny
spec:
  predictor:
    model:
      modelFormat:
        name: gguf
      storageUri: file://${file}
      args: ${JSON.stringify(args)}
`;
}
