/**
 * The LLM interface of a loaded model: what the OpenAI routes call. Protocol-neutral:
 * plain messages, sampling settings and events, no HTTP and no node-llama-cpp types.
 */

export type JsonSchema = Record<string, unknown>;

export interface LlmToolCall {
  id: string;
  name: string;
  /** JSON text of the arguments object. */
  arguments: string;
}

export interface LlmMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string | null;
  toolCalls?: LlmToolCall[];
  /** For `tool` messages: the call this result answers. */
  toolCallId?: string;
}

export interface LlmTool {
  name: string;
  description?: string;
  parameters?: JsonSchema;
}

export type LlmToolChoice = 'auto' | 'none' | 'required' | { name: string };

export type LlmResponseFormat = { type: 'text' } | { type: 'json_object' } | { type: 'json_schema'; schema: JsonSchema };

export interface LlmSampling {
  /** Unset: everything the context has left after the prompt. */
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  topK?: number;
  minP?: number;
  seed?: number;
  stop?: string[];
  presencePenalty?: number;
  frequencyPenalty?: number;
  /** Token id → bias added to its logit (−100 bans it). */
  logitBias?: Record<string, number>;
  signal?: AbortSignal;
}

export interface LlmChatRequest extends LlmSampling {
  messages: LlmMessage[];
  tools?: LlmTool[];
  toolChoice?: LlmToolChoice;
  responseFormat?: LlmResponseFormat;
}

export interface LlmCompletionRequest extends LlmSampling {
  prompt: string;
  responseFormat?: LlmResponseFormat;
}

/** Streamed as generation goes. Tool-call arguments joined per index are the final JSON. */
export type LlmEvent =
  | { type: 'text'; text: string }
  | { type: 'tool_call'; index: number; id: string; name: string }
  | { type: 'tool_call_arguments'; index: number; text: string };

export type LlmFinishReason = 'stop' | 'length' | 'tool_calls' | 'abort';

export interface LlmResult {
  text: string;
  toolCalls: LlmToolCall[];
  finishReason: LlmFinishReason;
  promptTokens: number;
  completionTokens: number;
}

export interface LlmStats {
  running: number;
  waiting: number;
  sequences: number;
  contextSize: number;
  completed: number;
  cancelled: number;
  promptTokens: number;
  generationTokens: number;
}

export interface LlmModel {
  /** vLLM-named serving metrics (see llm-metrics.ts `renderVllmMetrics`). */
  metrics(): import('./llm-metrics.js').LlmMetrics;
  /** Names this model answers to (`--served-model-name`), the first echoed in responses. */
  readonly servedNames: readonly string[];
  /** Maximum prompt + completion tokens of one request (`--max-model-len`). */
  readonly maxModelLen: number;
  readonly canEmbed: boolean;
  chat(req: LlmChatRequest, onEvent?: (e: LlmEvent) => void): Promise<LlmResult>;
  complete(req: LlmCompletionRequest, onEvent?: (e: LlmEvent) => void): Promise<LlmResult>;
  embed(inputs: string[]): Promise<{ vectors: number[][]; promptTokens: number }>;
  tokenize(text: string): number[];
  detokenize(tokens: readonly number[]): string;
  stats(): LlmStats;
  /**
   * Whether the next evaluation step leaves a core free (it runs on one ggml thread). Stream
   * writes then go during it; a step on every ggml thread would stall at ggml's barriers
   * behind a write, so streams write at once (docs/llm.md measures both).
   */
  stepLeavesCoreFree(): boolean;
}
