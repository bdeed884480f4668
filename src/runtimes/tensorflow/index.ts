export { tensorflowRuntime, TensorflowModel, DEFAULT_SIGNATURE } from './tensorflow-runtime.js';
export { TensorBundle } from './tensor-bundle.js';
