import { z } from 'zod';
import { invalidInput } from '../../api/errors.js';
import { fieldPath } from '../../api/resources/manifest.js';
import type {
  LlmChatRequest, LlmCompletionRequest, LlmMessage, LlmResponseFormat, LlmSampling, LlmTool, LlmToolChoice,
} from '../../runtimes/llm/llm-types.js';

/**
 * OpenAI request bodies (Chat Completions, Completions, Embeddings) as zod schemas.
 * Unknown top-level fields are ignored like vLLM does; known ones are checked and a
 * bad one is a 400 whose `param` names it.
 */
const TextPart = z.object({ type: z.literal('text'), text: z.string() });
const Content = z.union([z.string(), z.array(TextPart, { error: 'only text content parts are supported' })]);
const ToolCall = z.object({
  id: z.string(),
  type: z.literal('function').optional(),
  function: z.object({ name: z.string(), arguments: z.string() }),
});
const Message = z.discriminatedUnion('role', [
  z.object({ role: z.enum(['system', 'developer']), content: Content, name: z.string().optional() }),
  z.object({ role: z.literal('user'), content: Content, name: z.string().optional() }),
  z.object({ role: z.literal('assistant'), content: Content.nullish(), tool_calls: z.array(ToolCall).nullish(), name: z.string().optional(), refusal: z.string().nullish() }),
  z.object({ role: z.literal('tool'), content: Content, tool_call_id: z.string() }),
]);
const JsonObject = z.record(z.string(), z.unknown());
const Tool = z.object({
  type: z.literal('function'),
  function: z.object({ name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'must be 1-64 letters, digits, _ or -'), description: z.string().optional(), parameters: JsonObject.optional(), strict: z.boolean().nullish() }),
});
const ToolChoice = z.union([
  z.enum(['none', 'auto', 'required']),
  z.object({ type: z.literal('function'), function: z.object({ name: z.string() }) }),
]);
const ResponseFormat = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text') }),
  z.object({ type: z.literal('json_object') }),
  z.object({ type: z.literal('json_schema'), json_schema: z.object({ name: z.string(), description: z.string().optional(), schema: JsonObject.optional(), strict: z.boolean().nullish() }) }),
]);
/**
 * Abuse bounds (docs/security.md): each bounds work a request makes per token or per item
 * (stop matching, logit biasing, one generation per prompt) beyond what the body size
 * already bounds. OpenAI's own limits are lower or equal: 4 stops, 300 biased tokens,
 * 128 tools, 2,048 embedding inputs.
 */
export const OPENAI_LIMITS = { stopChars: 1000, stops: 16, logitBias: 1024, messages: 4096, tools: 128, prompts: 64, embeddingInputs: 2048 } as const;
const L = OPENAI_LIMITS;
const Stop = z.union([z.string().max(L.stopChars), z.array(z.string().max(L.stopChars)).max(L.stops)]).nullish();
const Int = z.number().int();
const TokenId = Int.min(0).max(2 ** 31 - 1);

const Sampling = {
  model: z.string().min(1),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  top_k: Int.min(-1).nullish(),
  min_p: z.number().min(0).max(1).nullish(),
  seed: Int.nullish(),
  stop: Stop,
  n: Int.min(1).max(16).nullish(),
  presence_penalty: z.number().min(-2).max(2).nullish(),
  frequency_penalty: z.number().min(-2).max(2).nullish(),
  logit_bias: z
    .record(z.string().regex(/^\d{1,10}$/, 'keys are token ids'), z.number().min(-100).max(100))
    .refine((b) => Object.keys(b).length <= L.logitBias, `at most ${L.logitBias} token ids`)
    .nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().nullish() }).nullish(),
  user: z.string().optional(),
};

export const ChatBody = z.object({
  ...Sampling,
  messages: z.array(Message).min(1).max(L.messages),
  max_tokens: Int.min(1).nullish(),
  max_completion_tokens: Int.min(1).nullish(),
  logprobs: z.boolean().nullish(),
  top_logprobs: Int.min(0).max(20).nullish(),
  response_format: ResponseFormat.nullish(),
  tools: z.array(Tool).max(L.tools).nullish(),
  tool_choice: ToolChoice.nullish(),
  parallel_tool_calls: z.boolean().nullish(),
});
export type ChatBody = z.infer<typeof ChatBody>;

export const CompletionBody = z.object({
  ...Sampling,
  prompt: z.union([z.string(), z.array(z.string()).min(1).max(L.prompts), z.array(TokenId).min(1), z.array(z.array(TokenId).min(1)).min(1).max(L.prompts)]),
  max_tokens: Int.min(1).nullish(),
  echo: z.boolean().nullish(),
  suffix: z.string().nullish(),
  logprobs: Int.min(0).max(5).nullish(),
  best_of: Int.min(1).nullish(),
  response_format: ResponseFormat.nullish(),
});
export type CompletionBody = z.infer<typeof CompletionBody>;

export const EmbeddingBody = z.object({
  model: z.string().min(1),
  input: z.union([z.string(), z.array(z.string()).min(1).max(L.embeddingInputs), z.array(TokenId).min(1), z.array(z.array(TokenId).min(1)).min(1).max(L.embeddingInputs)]),
  encoding_format: z.enum(['float', 'base64']).nullish(),
  dimensions: Int.min(1).nullish(),
  user: z.string().optional(),
});
export type EmbeddingBody = z.infer<typeof EmbeddingBody>;

export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalidInput('request body must be a JSON object', 'body');
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const param = fieldPath(issue.path);
  throw invalidInput(`${param || 'body'}: ${issue.message}`, param || 'body');
}

const text = (c: z.infer<typeof Content> | null | undefined): string | null =>
  c === null || c === undefined ? null : typeof c === 'string' ? c : c.map((p) => p.text).join('');

function sampling(b: ChatBody | CompletionBody): LlmSampling {
  const s: LlmSampling = {};
  if (b.temperature != null) s.temperature = b.temperature;
  if (b.top_p != null) s.topP = b.top_p;
  // vLLM's −1 (and 0) turn top-k off; left out, node-llama-cpp's 40 applies (docs/llm.md).
  if (b.top_k != null) s.topK = b.top_k > 0 ? b.top_k : 0;
  if (b.min_p != null) s.minP = b.min_p;
  if (b.seed != null) s.seed = b.seed;
  if (b.stop != null) s.stop = (typeof b.stop === 'string' ? [b.stop] : b.stop).filter((x) => x !== '');
  if (b.presence_penalty) s.presencePenalty = b.presence_penalty;
  if (b.frequency_penalty) s.frequencyPenalty = b.frequency_penalty;
  if (b.logit_bias) s.logitBias = b.logit_bias;
  return s;
}

function responseFormat(f: z.infer<typeof ResponseFormat> | null | undefined): LlmResponseFormat | undefined {
  if (!f) return undefined;
  if (f.type === 'json_schema') {
    if (!f.json_schema.schema) throw invalidInput('response_format.json_schema.schema is required', 'response_format.json_schema.schema');
    return { type: 'json_schema', schema: f.json_schema.schema };
  }
  return f;
}

export function toChatRequest(b: ChatBody): LlmChatRequest {
  if (b.logprobs) throw invalidInput('logprobs are not available from the inferd-llm runtime', 'logprobs');
  const messages: LlmMessage[] = b.messages.map((m) => {
    switch (m.role) {
      case 'system':
      case 'developer':
        return { role: 'system', content: text(m.content) };
      case 'user':
        return { role: 'user', content: text(m.content) };
      case 'assistant': {
        const out: LlmMessage = { role: 'assistant', content: text(m.content) };
        if (m.tool_calls?.length) out.toolCalls = m.tool_calls.map((c) => ({ id: c.id, name: c.function.name, arguments: c.function.arguments }));
        return out;
      }
      case 'tool':
        return { role: 'tool', content: text(m.content), toolCallId: m.tool_call_id };
    }
  });
  const req: LlmChatRequest = { ...sampling(b), messages };
  const max = b.max_completion_tokens ?? b.max_tokens;
  if (max != null) req.maxTokens = max;
  if (b.tools?.length) {
    const names = new Set<string>();
    req.tools = b.tools.map((t, i): LlmTool => {
      if (names.has(t.function.name)) throw invalidInput(`tools[${i}].function.name ${t.function.name} is defined twice`, `tools[${i}].function.name`);
      names.add(t.function.name);
      const tool: LlmTool = { name: t.function.name };
      if (t.function.description !== undefined) tool.description = t.function.description;
      if (t.function.parameters !== undefined) tool.parameters = t.function.parameters;
      return tool;
    });
  }
  if (b.tool_choice != null) req.toolChoice = typeof b.tool_choice === 'string' ? b.tool_choice : ({ name: b.tool_choice.function.name } satisfies LlmToolChoice);
  const rf = responseFormat(b.response_format);
  if (rf) req.responseFormat = rf;
  return req;
}

export function toCompletionRequests(b: CompletionBody, detokenize: (t: number[]) => string): LlmCompletionRequest[] {
  if (b.suffix) throw invalidInput('suffix is not supported', 'suffix');
  if (b.logprobs) throw invalidInput('logprobs are not available from the inferd-llm runtime', 'logprobs');
  if (b.best_of != null && b.best_of !== (b.n ?? 1)) throw invalidInput('best_of other than n is not supported', 'best_of');
  const p = b.prompt;
  const prompts: string[] =
    typeof p === 'string' ? [p]
    : typeof p[0] === 'string' ? (p as string[])
    : typeof p[0] === 'number' ? [detokenize(p as number[])]
    : (p as number[][]).map(detokenize);
  const base: Omit<LlmCompletionRequest, 'prompt'> = { ...sampling(b), maxTokens: b.max_tokens ?? 16 };
  const rf = responseFormat(b.response_format);
  if (rf) base.responseFormat = rf;
  return prompts.map((prompt) => ({ ...base, prompt }));
}
