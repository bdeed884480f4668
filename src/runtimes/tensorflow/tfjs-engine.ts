import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

/**
 * TF.js backends for this thread. TF.js keeps one active backend per JS realm, so inferd
 * runs each TensorFlow model in its own worker thread (the runtime's `worker` isolation)
 * and chooses that thread's backend by timing the model itself on each candidate.
 */

export type BackendName = 'wasm' | 'cpu';
export const BACKENDS: readonly BackendName[] = ['wasm', 'cpu'];

const require = createRequire(import.meta.url);
let wasmPathsSet = false;

function wasmDir(): string {
  // The .wasm binaries ship inside the npm package: no download at install or run time.
  return join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm')), '/');
}

tf.env().set('IS_NODE', true);
// Silence TF.js's "hi there" banner and kernel-registration warnings in server logs.
tf.env().set('PROD', true);

/** Makes `name` the active backend; false when it cannot start here. */
export async function useBackend(name: BackendName): Promise<boolean> {
  if (name === 'wasm' && !wasmPathsSet) {
    setWasmPaths(wasmDir());
    wasmPathsSet = true;
  }
  try {
    return await tf.setBackend(name);
  } catch {
    return false;
  }
}

export interface BackendInfo {
  name: BackendName;
  simd: boolean;
  threads: boolean;
}

export async function backendInfo(): Promise<BackendInfo> {
  const name = tf.getBackend() as BackendName;
  if (name !== 'wasm') return { name, simd: false, threads: false };
  return {
    name,
    simd: Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')),
    threads: Boolean(await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')),
  };
}

export { tf };
