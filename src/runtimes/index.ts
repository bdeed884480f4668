import { onnxRuntime } from './onnx/onnx-runtime.js';
import type { Runtime } from './types.js';

/** Every in-process runtime; adding one is adding its folder and one line here. */
export const RUNTIMES: readonly Runtime[] = [
  onnxRuntime,
];

export function runtimeForFormat(format: string): Runtime | undefined {
  return RUNTIMES.find((r) => r.formats.includes(format));
}

export type { Runtime, LoadedModel, LoadContext } from './types.js';
