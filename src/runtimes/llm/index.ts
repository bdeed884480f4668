export { llmRuntime, llamaFor, findGguf } from './llm-runtime.js';
export { vllmRuntime, vllmCommand } from './vllm-runtime.js';
export { parseLlmSettings, type LlmSettings } from './llm-settings.js';
export type * from './llm-types.js';
export { renderVllmMetrics, type LlmMetrics } from './llm-metrics.js';
