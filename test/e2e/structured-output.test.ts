import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Ajv } from 'ajv';
import OpenAI from 'openai';
import { tinyLlmService } from '../helpers/tiny-llm.js';
import { startInferd, waitReady, type InferdProcess } from '../helpers/inferd-process.js';

/**
 * Structured output always parses and validates within max_tokens: the random-weight
 * model writes open-ended strings and numbers until the budget runs out, so every small
 * max_tokens forces the closing path.
 */
const RECORD = {
  type: 'object',
  properties: {
    title: { type: 'string', maxLength: 6 },
    count: { type: 'integer' },
    tags: { type: 'array', items: { type: 'string', maxLength: 3 }, maxItems: 3 },
    meta: { type: 'object', properties: { note: { type: 'string' }, level: { type: 'integer' }, ok: { type: 'boolean' } }, required: ['note', 'level', 'ok'] },
    kind: { enum: ['alpha', 'beta'] },
  },
  required: ['title', 'count', 'tags', 'meta', 'kind'],
  additionalProperties: false,
} as const;
const SEARCH = {
  type: 'object',
  properties: { query: { type: 'string' }, limit: { type: 'integer' }, filters: { type: 'array', items: { type: 'object', properties: { field: { type: 'string' }, value: { type: 'number' } }, required: ['field', 'value'] }, minItems: 1 } },
  required: ['query', 'limit', 'filters'],
} as const;
const tools = [
  { type: 'function' as const, function: { name: 'save_record', description: 'save a record', parameters: RECORD as unknown as Record<string, unknown> } },
  { type: 'function' as const, function: { name: 'search', description: 'search', parameters: SEARCH as unknown as Record<string, unknown> } },
];
// </s>, <|im_start|>, <|im_end|> of the generated vocabulary: banned, so nothing ends early.
const NO_EOS = { '2': -100, '3': -100, '4': -100 };
/** Budgets above the shortest valid output (the tiny vocabulary spells punctuation byte by byte, so that is tens of tokens). */
const EXTRA = [0, 1, 2, 5, 11, 30];
const SEEDS = [1, 2];

const ajv = new Ajv({ strict: false });
const validators = { save_record: ajv.compile(RECORD), search: ajv.compile(SEARCH) };

/** Every number written in the JSON text (strings blanked out first). */
function numbersIn(text: string): string[] {
  return text.replace(/"(?:[^"\\]|\\.)*"/g, '""').match(/-?\d[\d.eE+-]*/g) ?? [];
}

/** Parses, validates against the schema and checks that every integer is written as a safe JSON integer. */
function checkArguments(text: string, name: 'save_record' | 'search', label: string): void {
  let value: unknown;
  assert.doesNotThrow(() => (value = JSON.parse(text)), `${label}: not JSON: ${text}`);
  const check = validators[name];
  assert.ok(check(value), `${label}: ${ajv.errorsText(check.errors)} in ${text}`);
  if (name === 'save_record') {
    for (const n of numbersIn(text)) {
      assert.match(n, /^(0|-?[1-9]\d*)$/, `${label}: integer written as ${n}`);
      assert.ok(Number.isSafeInteger(Number(n)), `${label}: ${n} is not a safe integer`);
    }
  }
  for (const n of numbersIn(text)) assert.doesNotMatch(n, /[eE]/, `${label}: exponent in ${n}`);
}

describe('structured output that always parses (real inferd serve, random-weight GGUF)', () => {
  let srv: InferdProcess;
  let client: OpenAI;
  let base: string;

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'inferd-structured-'));
    writeFileSync(join(dir, 'models.yaml'), tinyLlmService(dir, 11, ['--max-model-len', '1024', '--max-num-seqs', '2']));
    srv = await startInferd(['-f', join(dir, 'models.yaml')]);
    await waitReady(srv.http, 60_000);
    base = srv.http;
    client = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 120_000 });
  });
  after(async () => {
    assert.equal(await srv.stop(), 0);
  });

  /** The tokens of the shortest valid output, from the 400 that a budget of 1 gets. */
  async function shortest(body: Record<string, unknown>): Promise<number> {
    const res = await fetch(`${base}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...body, max_tokens: 1 }) });
    const j = (await res.json()) as { error: { param: string; message: string } };
    assert.equal(res.status, 400);
    assert.equal(j.error.param, 'max_tokens');
    const m = /valid against the schema \((\d+) tokens\)/.exec(j.error.message);
    assert.ok(m, j.error.message);
    return Number(m[1]);
  }

  /** Streams a forced call and returns its name, joined arguments and finish reason. */
  async function streamedCall(body: OpenAI.ChatCompletionCreateParamsStreaming) {
    const stream = await client.chat.completions.create(body);
    let name: string | undefined;
    let args = '';
    let finish: string | null = null;
    let content = '';
    for await (const ch of stream) {
      const d = ch.choices[0];
      if (!d) continue;
      if (d.finish_reason) finish = d.finish_reason;
      content += d.delta.content ?? '';
      for (const tc of d.delta.tool_calls ?? []) {
        assert.equal(tc.index, 0);
        if (tc.function?.name) name = tc.function.name;
        args += tc.function?.arguments ?? '';
      }
    }
    return { name, args, finish, content };
  }

  it('tool_choice "required": arguments parse and validate for every budget; streamed deltas equal the whole arguments', async () => {
    const common = { model: 'tiny', temperature: 1, logit_bias: NO_EOS, tools, tool_choice: 'required' as const, messages: [{ role: 'user' as const, content: 'find or save something' }] };
    const min = await shortest(common);
    for (const max_tokens of EXTRA.map((e) => min + e)) {
      for (const seed of SEEDS) {
        const label = `required max_tokens=${max_tokens} seed=${seed}`;
        const body = { ...common, seed, max_tokens };
        const r = await client.chat.completions.create(body);
        const c = r.choices[0]!;
        assert.equal(c.finish_reason, 'tool_calls', label);
        assert.ok(r.usage!.completion_tokens <= max_tokens, `${label}: ${r.usage!.completion_tokens} tokens`);
        const call = c.message.tool_calls![0]!;
        assert.ok(call.type === 'function' && (call.function.name === 'save_record' || call.function.name === 'search'), label);
        if (call.type === 'function') checkArguments(call.function.arguments, call.function.name as 'save_record' | 'search', label);

        const s = await streamedCall({ ...body, stream: true });
        assert.equal(s.finish, 'tool_calls', label);
        assert.ok(s.name === 'save_record' || s.name === 'search', label);
        checkArguments(s.args, s.name, `${label} (streamed)`);
        if (call.type === 'function') assert.deepEqual([s.name, s.args], [call.function.name, call.function.arguments], `${label}: streamed and not streamed differ`);
      }
    }
  });

  it('named tool: arguments parse and validate for every budget, streamed or not', async () => {
    for (const name of ['save_record', 'search'] as const) {
      const common = { model: 'tiny', logit_bias: NO_EOS, tools, tool_choice: { type: 'function' as const, function: { name } }, messages: [{ role: 'user' as const, content: 'go' }] };
      const min = await shortest(common);
      for (const [i, max_tokens] of EXTRA.map((e) => min + e).entries()) {
        const seed = SEEDS[i % SEEDS.length]!;
        const label = `named ${name} max_tokens=${max_tokens} seed=${seed}`;
        const body = { ...common, seed, max_tokens };
        const r = await client.chat.completions.create(body);
        const c = r.choices[0]!;
        assert.equal(c.finish_reason, 'tool_calls', label);
        assert.ok(r.usage!.completion_tokens <= max_tokens, label);
        const call = c.message.tool_calls![0]!;
        assert.ok(call.type === 'function' && call.function.name === name, label);
        if (call.type === 'function') checkArguments(call.function.arguments, name, label);

        const s = await streamedCall({ ...body, stream: true });
        assert.equal(s.finish, 'tool_calls', label);
        assert.equal(s.name, name, label);
        checkArguments(s.args, name, `${label} (streamed)`);
        if (call.type === 'function') assert.equal(s.args, call.function.arguments, `${label}: streamed and not streamed differ`);
      }
    }
  });

  it('response_format json_schema: content parses and validates, finish_reason stop, streamed or not', async () => {
    const common = { model: 'tiny', logit_bias: NO_EOS, response_format: { type: 'json_schema' as const, json_schema: { name: 'record', schema: RECORD as unknown as Record<string, unknown>, strict: true } }, messages: [{ role: 'user' as const, content: 'a record please' }] };
    const min = await shortest(common);
    for (const max_tokens of EXTRA.map((e) => min + e)) {
      for (const seed of SEEDS) {
        const label = `json_schema max_tokens=${max_tokens} seed=${seed}`;
        const body = { ...common, seed, max_tokens };
        const r = await client.chat.completions.create(body);
        const c = r.choices[0]!;
        assert.equal(c.finish_reason, 'stop', label);
        assert.ok(r.usage!.completion_tokens <= max_tokens, label);
        checkArguments(c.message.content!, 'save_record', label);

        const s = await streamedCall({ ...body, stream: true });
        assert.equal(s.finish, 'stop', label);
        checkArguments(s.content, 'save_record', `${label} (streamed)`);
        assert.equal(s.content, c.message.content, `${label}: streamed and not streamed differ`);
      }
    }
  });

  it('n=2 streamed: both choices, generated side by side, close into valid JSON', async () => {
    const common = { model: 'tiny', logit_bias: NO_EOS, response_format: { type: 'json_schema' as const, json_schema: { name: 'record', schema: RECORD as unknown as Record<string, unknown> } }, messages: [{ role: 'user' as const, content: 'two records' }] };
    const min = await shortest(common);
    const stream = await client.chat.completions.create({ ...common, n: 2, seed: 4, max_tokens: min + 9, stream: true });
    const content = ['', ''];
    const finish: Array<string | null> = [null, null];
    for await (const ch of stream) {
      for (const c of ch.choices) {
        content[c.index] += c.delta.content ?? '';
        if (c.finish_reason) finish[c.index] = c.finish_reason;
      }
    }
    assert.deepEqual(finish, ['stop', 'stop']);
    content.forEach((c, i) => checkArguments(c, 'save_record', `choice ${i}`));
  });

  it('completions with json_schema and json_object close within max_tokens too', async () => {
    const min = await shortest({ model: 'tiny', messages: [{ role: 'user', content: 'json' }], response_format: { type: 'json_schema', json_schema: { name: 'q', schema: SEARCH } } });
    for (const max_tokens of [min, min + 3, min + 20]) {
      const r = await client.completions.create({ model: 'tiny', prompt: 'json:', seed: 5, max_tokens, logit_bias: NO_EOS, response_format: { type: 'json_schema', json_schema: { name: 'q', schema: SEARCH } } } as OpenAI.CompletionCreateParamsNonStreaming);
      assert.equal(r.choices[0]!.finish_reason, 'stop');
      checkArguments(r.choices[0]!.text, 'search', `completion max_tokens=${max_tokens}`);
      const o = await client.chat.completions.create({ model: 'tiny', seed: 5, max_tokens, logit_bias: NO_EOS, response_format: { type: 'json_object' }, messages: [{ role: 'user', content: 'json' }] });
      assert.equal(o.choices[0]!.finish_reason, 'stop');
      const v = JSON.parse(o.choices[0]!.message.content!) as unknown;
      assert.ok(typeof v === 'object' && v !== null && !Array.isArray(v));
    }
  });

  it('a logit_bias that bans every token the grammar allows neither takes the server down nor breaks the JSON', async () => {
    // Ids 5..299 hold the byte tokens, so every character of JSON punctuation is banned.
    const banAll = Object.fromEntries(Array.from({ length: 295 }, (_, i) => [String(i + 5), -100]));
    for (const stream of [false, true]) {
      const body = { model: 'tiny', seed: 3, max_tokens: 120, logit_bias: banAll, tools, tool_choice: { type: 'function' as const, function: { name: 'save_record' } }, messages: [{ role: 'user' as const, content: 'go' }] };
      if (stream) {
        const s = await streamedCall({ ...body, stream: true });
        assert.equal(s.finish, 'tool_calls');
        checkArguments(s.args, 'save_record', 'banned, streamed');
      } else {
        const r = await client.chat.completions.create(body);
        const call = r.choices[0]!.message.tool_calls![0]!;
        if (call.type === 'function') checkArguments(call.function.arguments, 'save_record', 'banned');
      }
    }
    const text = await client.chat.completions.create({ model: 'tiny', seed: 3, max_tokens: 8, logit_bias: banAll, messages: [{ role: 'user', content: 'still there?' }] });
    assert.equal(text.choices.length, 1);
  });

  it('pattern, format and other keywords the grammar cannot enforce: 400 naming the field', async () => {
    const bad = async (body: Record<string, unknown>, param: string) => {
      const res = await fetch(`${base}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'tiny', max_tokens: 16, messages: [{ role: 'user', content: 'x' }], ...body }) });
      const j = (await res.json()) as { error: { type: string; param: string | null; message: string } };
      assert.equal(res.status, 400, JSON.stringify(j));
      assert.equal(j.error.type, 'invalid_request_error');
      assert.equal(j.error.param, param);
      assert.ok(j.error.message.includes(param), j.error.message);
    };
    const withPattern = { type: 'object', properties: { id: { type: 'string', pattern: '^[a-z]{3}$' } }, required: ['id'] };
    await bad({ tools: [{ type: 'function', function: { name: 'f', parameters: withPattern } }], tool_choice: 'required' }, 'tools[0].function.parameters.properties.id.pattern');
    await bad({ tools: [{ type: 'function', function: { name: 'f', parameters: withPattern } }], tool_choice: { type: 'function', function: { name: 'f' } } }, 'tools[0].function.parameters.properties.id.pattern');
    await bad({ response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'object', properties: { at: { type: 'string', format: 'date-time' } }, required: ['at'] } } } }, 'response_format.json_schema.schema.properties.at.format');
    await bad({ response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'object', properties: { n: { type: 'integer', maximum: 9 } } } } } }, 'response_format.json_schema.schema.properties.n.maximum');
    await bad({ tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'string' } } }], tool_choice: { type: 'function', function: { name: 'f' } } }, 'tools[0].function.parameters');
    // A budget below the shortest valid output is refused up front rather than cut.
    await bad({ max_tokens: 1, response_format: { type: 'json_schema', json_schema: { name: 'r', schema: RECORD } } }, 'max_tokens');
  });
});
