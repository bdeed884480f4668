import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ChatBody, CompletionBody, parseBody, toChatRequest, toCompletionRequests } from '../../src/protocols/openai/openai-schemas.js';

describe('OpenAI sampling fields', () => {
  const chat = (extra: Record<string, unknown>) => toChatRequest(parseBody(ChatBody, { model: 'm', messages: [{ role: 'user', content: 'hi' }], ...extra }));
  const completion = (extra: Record<string, unknown>) => toCompletionRequests(parseBody(CompletionBody, { model: 'm', prompt: 'hi', ...extra }), () => '')[0]!;

  it('turns top-k off for vLLM\'s -1 and 0, keeps a positive k and leaves an absent one to the runtime default', () => {
    for (const make of [chat, completion]) {
      assert.equal(make({ top_k: -1 }).topK, 0);
      assert.equal(make({ top_k: 0 }).topK, 0);
      assert.equal(make({ top_k: 7 }).topK, 7);
      assert.equal(make({}).topK, undefined);
    }
  });
});
