import type { ChatHistoryItem, ChatModelFunctionCall } from 'node-llama-cpp';
import { invalidInput } from '../../api/errors.js';
import type { LlmMessage, LlmTool } from './llm-types.js';

/**
 * OpenAI-style messages → node-llama-cpp chat history. node-llama-cpp has no
 * tool_call_id: each `tool` message's content becomes the result of the call it
 * answers, inside the assistant turn that made it. A final empty model turn is
 * what generation fills.
 */
export function toChatHistory(messages: readonly LlmMessage[], extraSystem?: string): ChatHistoryItem[] {
  const history: ChatHistoryItem[] = [];
  const calls = new Map<string, ChatModelFunctionCall>();
  if (extraSystem) history.push({ type: 'system', text: extraSystem });
  messages.forEach((m, i) => {
    switch (m.role) {
      case 'system':
        history.push({ type: 'system', text: m.content ?? '' });
        break;
      case 'user':
        history.push({ type: 'user', text: m.content ?? '' });
        break;
      case 'assistant': {
        const response: Array<string | ChatModelFunctionCall> = [];
        if (m.content) response.push(m.content);
        for (const c of m.toolCalls ?? []) {
          let params: unknown;
          try {
            params = JSON.parse(c.arguments);
          } catch {
            throw invalidInput(`messages[${i}].tool_calls: arguments of ${c.id} is not valid JSON`, `messages[${i}].tool_calls`);
          }
          const call: ChatModelFunctionCall = { type: 'functionCall', name: c.name, params, result: '' };
          calls.set(c.id, call);
          response.push(call);
        }
        history.push({ type: 'model', response });
        break;
      }
      case 'tool': {
        const call = m.toolCallId === undefined ? undefined : calls.get(m.toolCallId);
        if (!call) throw invalidInput(`messages[${i}].tool_call_id ${JSON.stringify(m.toolCallId)} does not match a tool call of an earlier assistant message`, `messages[${i}].tool_call_id`);
        call.result = m.content ?? '';
        break;
      }
    }
  });
  history.push({ type: 'model', response: [] });
  return history;
}

/** The system note that lists tools when a call is forced by grammar (tool_choice required or named). */
export function toolsNote(tools: readonly LlmTool[]): string {
  const list = tools.map((t) => JSON.stringify({ name: t.name, description: t.description ?? '', parameters: t.parameters ?? { type: 'object' } }));
  return `You can call these tools. Answer with one call as JSON.\n${list.join('\n')}`;
}
