import { lightgbmRuntime } from './lightgbm/lightgbm-runtime.js';
import { llmRuntime } from './llm/llm-runtime.js';
import { vllmRuntime } from './llm/vllm-runtime.js';
import { onnxRuntime } from './onnx/onnx-runtime.js';
import { sklearnRuntime } from './sklearn/index.js';
import { xgboostRuntime } from './xgboost/xgboost-runtime.js';
import type { Runtime } from './types.js';

/** Every in-process runtime; adding one is adding its folder and one line here. */
export const RUNTIMES: readonly Runtime[] = [
  onnxRuntime,
  sklearnRuntime,
  xgboostRuntime,
  lightgbmRuntime,
  llmRuntime,
  vllmRuntime,
  (await import('./tensorflow/index.js')).tensorflowRuntime,
];

export function runtimeForFormat(format: string): Runtime | undefined {
  return RUNTIMES.find((r) => r.formats.includes(format));
}

export type { Runtime, LoadedModel, LoadContext } from './types.js';
