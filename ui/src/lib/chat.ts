import { request } from './api';
import { readSse } from './sse';

export interface ToolCall {
  id: string;
  name: string;
  arguments: string;
}

export interface ChatOptions {
  model: string;
  namespace: string;
  messages: Array<{ role: string; content: string }>;
  temperature: number;
  maxTokens: number;
  /** A JSON schema object; sent as response_format json_schema. */
  schema?: Record<string, unknown>;
  /** OpenAI tool definitions (`[{type:'function', function:{name, parameters}}]`) and the choice among them. */
  tools?: unknown[];
  toolChoice?: 'auto' | 'required';
}

/**
 * Streams /v1/chat/completions (stream: true) and reports each content delta and
 * the tool calls assembled from their fragments (OpenAI's delta.tool_calls[index]).
 */
export async function streamChat(opts: ChatOptions, on: { text: (t: string) => void; tools: (calls: ToolCall[]) => void; finish: (reason: string) => void }, signal: AbortSignal): Promise<void> {
  const body = {
    model: opts.model,
    messages: opts.messages,
    stream: true,
    temperature: opts.temperature,
    max_tokens: opts.maxTokens,
    ...(opts.schema ? { response_format: { type: 'json_schema', json_schema: { name: 'response', schema: opts.schema, strict: true } } } : {}),
    ...(opts.tools?.length ? { tools: opts.tools, tool_choice: opts.toolChoice ?? 'auto' } : {}),
  };
  const res = await request('/v1/chat/completions', { method: 'POST', signal, headers: { 'content-type': 'application/json', accept: 'text/event-stream', 'inferd-namespace': opts.namespace }, body: JSON.stringify(body) });
  if (!res.body) throw new Error('the server sent no stream');
  const calls: ToolCall[] = [];
  await readSse(res.body, (e) => {
    if (e.data === '[DONE]') return;
    const chunk = JSON.parse(e.data) as { choices?: Array<{ delta?: { content?: string | null; tool_calls?: Array<{ index: number; id?: string; function?: { name?: string; arguments?: string } }> }; finish_reason?: string | null }>; error?: { message?: string } };
    if (chunk.error) throw new Error(chunk.error.message ?? 'stream error');
    const c = chunk.choices?.[0];
    if (!c) return;
    if (c.delta?.content) on.text(c.delta.content);
    for (const tc of c.delta?.tool_calls ?? []) {
      const cur = (calls[tc.index] ??= { id: '', name: '', arguments: '' });
      if (tc.id) cur.id = tc.id;
      if (tc.function?.name) cur.name += tc.function.name;
      if (tc.function?.arguments) cur.arguments += tc.function.arguments;
      on.tools(calls.map((x) => ({ ...x })));
    }
    if (c.finish_reason) on.finish(c.finish_reason);
  }, signal);
}
