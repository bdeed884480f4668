export { sklearnRuntime, MODEL_FILE_RULE } from './sklearn-runtime.js';
export { readModelBytes, readModelFile } from './model-reader.js';
