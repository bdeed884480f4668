export { quantizeModel, quantizeFile, type QuantizeOptions, type QuantizeResult, type QuantizeMode } from './quantize.js';
export { formatReport, formatBytes } from './report.js';
export { compareModels, type AccuracyReport, type OutputAccuracy, type AccuracyOptions } from './accuracy.js';
export { DEFAULT_FP16_BLOCK_LIST } from './fp16.js';
export { quantizeWeight } from './int8.js';
export { floatToHalf, halfToFloat } from './half.js';
