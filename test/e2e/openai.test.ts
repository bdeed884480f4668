import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { tinyLlmService } from '../helpers/tiny-llm.js';
import { REPO_ROOT, startInferd, waitReady, type InferdProcess } from '../helpers/inferd-process.js';

type Schema = { type?: string; enum?: unknown[]; properties?: Record<string, Schema>; required?: string[]; items?: Schema; additionalProperties?: boolean };

/** A small JSON-schema check (type, enum, properties, required, items, additionalProperties). */
function validate(value: unknown, schema: Schema, path = '$'): void {
  if (schema.enum) assert.ok(schema.enum.includes(value), `${path}: ${JSON.stringify(value)} not in enum`);
  switch (schema.type) {
    case 'object': {
      assert.ok(typeof value === 'object' && value !== null && !Array.isArray(value), `${path}: not an object`);
      const obj = value as Record<string, unknown>;
      for (const k of schema.required ?? []) assert.ok(k in obj, `${path}.${k} missing`);
      for (const [k, v] of Object.entries(obj)) {
        const sub = schema.properties?.[k];
        if (sub) validate(v, sub, `${path}.${k}`);
        else assert.notEqual(schema.additionalProperties, false, `${path}.${k} not allowed`);
      }
      break;
    }
    case 'array':
      assert.ok(Array.isArray(value), `${path}: not an array`);
      (value as unknown[]).forEach((v, i) => schema.items && validate(v, schema.items, `${path}[${i}]`));
      break;
    case 'string': assert.equal(typeof value, 'string', path); break;
    case 'boolean': assert.equal(typeof value, 'boolean', path); break;
    case 'integer': assert.ok(Number.isInteger(value), path); break;
    case 'number': assert.equal(typeof value, 'number', path); break;
  }
}

const WEATHER: Schema = {
  type: 'object',
  properties: { city: { type: 'string', enum: ['paris', 'tokyo', 'lima'] }, unit: { type: 'string', enum: ['c', 'f'] } },
  required: ['city', 'unit'],
};
const ALARM: Schema = { type: 'object', properties: { on: { type: 'boolean' }, days: { type: 'array', items: { type: 'string', enum: ['mon', 'tue'] } } }, required: ['on', 'days'] };
const tools = [
  { type: 'function' as const, function: { name: 'get_weather', description: 'weather for a city', parameters: WEATHER as Record<string, unknown> } },
  { type: 'function' as const, function: { name: 'set_alarm', description: 'alarm', parameters: ALARM as Record<string, unknown> } },
];
const schemaOf = (name: string) => (name === 'get_weather' ? WEATHER : ALARM);
// Control tokens of the generated vocabulary: </s>, <|im_start|>, <|im_end|>. Banning them makes outputs run to max_tokens.
const NO_EOS = { '2': -100, '3': -100, '4': -100 };

describe('OpenAI API against a real inferd serve (random-weight GGUF)', () => {
  let srv: InferdProcess;
  let client: OpenAI;
  let base: string;

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'inferd-llm-'));
    writeFileSync(join(dir, 'models.yaml'), `${tinyLlmService(dir, 7, ['--max-model-len', '2048', '--max-num-seqs', '8', '--enable-auto-tool-choice', '--tool-call-parser', 'hermes', '--served-model-name', 'tiny', 'tiny-alias'])}---
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata:
  name: narrow
spec:
  predictor:
    model:
      modelFormat:
        name: llm
      storageUri: file://${dir}
      args: ["--max-model-len=256", "--max-num-seqs=1", "--max-queue=1"]
`);
    srv = await startInferd(['-f', join(dir, 'models.yaml')]);
    await waitReady(srv.http, 60_000);
    base = srv.http;
    client = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'unused', maxRetries: 0 });
  });
  after(async () => {
    assert.equal(await srv.stop(), 0);
  });

  it('lists models in OpenAI shape plus KServe names; /v1/models/{name} stays V1 status', async () => {
    const list = await client.models.list();
    const ids = list.data.map((m) => m.id);
    assert.ok(ids.includes('tiny') && ids.includes('tiny-alias') && ids.includes('narrow'));
    for (const m of list.data) assert.equal(m.object, 'model');
    const raw = (await (await fetch(`${base}/v1/models`)).json()) as { object: string; models: string[] };
    assert.equal(raw.object, 'list');
    assert.deepEqual([...raw.models].sort(), ['narrow', 'tiny']);
    assert.deepEqual(await (await fetch(`${base}/v1/models/tiny`)).json(), { name: 'tiny', ready: true });
    const one = (await (await fetch(`${base}/openai/v1/models/tiny`)).json()) as { id: string; object: string };
    assert.deepEqual([one.id, one.object], ['tiny', 'model']);
  });

  it('chat completion: structure, usage and max_tokens → length', async () => {
    const r = await client.chat.completions.create({
      model: 'tiny', max_tokens: 12, temperature: 0.7, seed: 3, logit_bias: NO_EOS,
      messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hello there' }, { role: 'assistant', content: 'hi' }, { role: 'user', content: 'tell me more' }],
    });
    assert.match(r.id, /^chatcmpl-/);
    assert.equal(r.object, 'chat.completion');
    assert.equal(r.model, 'tiny');
    assert.equal(r.choices.length, 1);
    const c = r.choices[0]!;
    assert.equal(c.message.role, 'assistant');
    assert.equal(typeof c.message.content, 'string');
    assert.equal(c.finish_reason, 'length');
    assert.equal(r.usage!.completion_tokens, 12);
    assert.ok(r.usage!.prompt_tokens > 5);
    assert.equal(r.usage!.total_tokens, r.usage!.prompt_tokens + r.usage!.completion_tokens);
  });

  it('answers through a --served-model-name alias and on /openai/v1, with n choices', async () => {
    const alt = new OpenAI({ baseURL: `${base}/openai/v1`, apiKey: 'x', maxRetries: 0 });
    const r = await alt.chat.completions.create({ model: 'tiny-alias', n: 3, max_tokens: 4, messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(r.model, 'tiny-alias');
    assert.deepEqual(r.choices.map((c) => c.index), [0, 1, 2]);
  });

  it('text completion with stop sequences: output never contains them and ends with stop', async () => {
    const stop = ['a', 'e', 'i', 'o'];
    const r = await client.completions.create({ model: 'tiny', prompt: 'once upon a time', max_tokens: 60, stop, logit_bias: NO_EOS, seed: 1 });
    assert.equal(r.object, 'text_completion');
    const c = r.choices[0]!;
    assert.equal(c.finish_reason, 'stop');
    for (const s of stop) assert.ok(!c.text.includes(s), `text ${JSON.stringify(c.text)} contains stop ${s}`);
    assert.ok(r.usage!.completion_tokens < 60);
    const chat = await client.chat.completions.create({ model: 'tiny', max_tokens: 60, stop, logit_bias: NO_EOS, messages: [{ role: 'user', content: 'go' }] });
    assert.equal(chat.choices[0]!.finish_reason, 'stop');
    for (const s of stop) assert.ok(!chat.choices[0]!.message.content!.includes(s));
  });

  it('presence and frequency penalties: a seeded request repeats its text, streamed or not, and the penalties change it', async () => {
    const ask = { model: 'tiny', prompt: 'once upon a time', max_tokens: 40, temperature: 0.9, seed: 4, logit_bias: NO_EOS };
    const penalised = { ...ask, presence_penalty: 1.2, frequency_penalty: 0.8 };
    const first = (await client.completions.create(penalised)).choices[0]!.text;
    assert.equal((await client.completions.create(penalised)).choices[0]!.text, first);
    let streamed = '';
    for await (const chunk of await client.completions.create({ ...penalised, stream: true })) streamed += chunk.choices[0]?.text ?? '';
    assert.equal(streamed, first);
    assert.notEqual((await client.completions.create(ask)).choices[0]!.text, first);
  });

  it('streamed completion text joins into the unstreamed text, also while stop strings hold tokens back', async () => {
    // A token ending in a stop string's first character is held until the next one rules the
    // stop out, then both are released together; the others are released alone.
    for (const stop of [undefined, ['eqqq', 'tqqq', 'aqqq', ' qqq']]) {
      const ask = { model: 'tiny', prompt: 'once upon a time', max_tokens: 48, temperature: 0.8, seed: 11, logit_bias: NO_EOS, ...(stop ? { stop } : {}) };
      const whole = (await client.completions.create(ask)).choices[0]!.text;
      let streamed = '';
      let events = 0;
      for await (const chunk of await client.completions.create({ ...ask, stream: true })) {
        streamed += chunk.choices[0]?.text ?? '';
        events++;
      }
      assert.ok(whole.length > 0 && events > 10, `${events} events for ${JSON.stringify(whole)}`);
      assert.equal(streamed, whole, `stop ${JSON.stringify(stop)}`);
    }
  });

  it('completion max_tokens → length, with echo', async () => {
    const r = await client.completions.create({ model: 'tiny', prompt: 'abc', max_tokens: 5, echo: true, logit_bias: NO_EOS });
    assert.equal(r.choices[0]!.finish_reason, 'length');
    assert.ok(r.choices[0]!.text.startsWith('abc'));
    assert.equal(r.usage!.completion_tokens, 5);
  });

  it('streams chat chunks in OpenAI order with usage last', async () => {
    const stream = await client.chat.completions.create({ model: 'tiny', max_tokens: 20, stream: true, stream_options: { include_usage: true }, logit_bias: NO_EOS, messages: [{ role: 'user', content: 'stream please' }] });
    const chunks = [];
    for await (const ch of stream) chunks.push(ch);
    const ids = new Set(chunks.map((c) => c.id));
    assert.equal(ids.size, 1);
    for (const c of chunks) assert.equal(c.object, 'chat.completion.chunk');
    assert.deepEqual(chunks[0]!.choices[0]!.delta, { role: 'assistant', content: '' });
    const usageChunk = chunks.at(-1)!;
    assert.deepEqual(usageChunk.choices, []);
    assert.equal(usageChunk.usage!.completion_tokens, 20);
    const finishChunk = chunks.at(-2)!;
    assert.equal(finishChunk.choices[0]!.finish_reason, 'length');
    for (const c of chunks.slice(0, -2)) {
      assert.equal(c.choices[0]!.finish_reason, null);
      assert.equal(c.usage, null);
    }
    const text = chunks.slice(1, -2).map((c) => c.choices[0]!.delta.content ?? '').join('');
    assert.ok(text.length > 0);
  });

  it('streams completions and ends with [DONE] on the wire', async () => {
    const res = await fetch(`${base}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'tiny', prompt: 'x', max_tokens: 6, stream: true, logit_bias: NO_EOS }) });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type')!, /text\/event-stream/);
    const body = await res.text();
    const events = body.split('\n\n').filter(Boolean);
    assert.equal(events.at(-1), 'data: [DONE]');
    const parsed = events.slice(0, -1).map((e) => JSON.parse(e.replace(/^data: /, '')) as { object: string; choices: Array<{ finish_reason: string | null }> });
    for (const p of parsed) assert.equal(p.object, 'text_completion');
    assert.equal(parsed.at(-1)!.choices[0]!.finish_reason, 'length');
  });

  it('tool_choice required: a call to one of the tools whose arguments validate', async () => {
    for (const seed of [1, 2, 3]) {
      const r = await client.chat.completions.create({ model: 'tiny', seed, max_tokens: 200, tools, tool_choice: 'required', messages: [{ role: 'user', content: 'weather in paris?' }] });
      const c = r.choices[0]!;
      assert.equal(c.finish_reason, 'tool_calls');
      assert.equal(c.message.content, null);
      const call = c.message.tool_calls![0]!;
      assert.equal(call.type, 'function');
      assert.match(call.id, /^call_/);
      assert.ok(call.type === 'function' && ['get_weather', 'set_alarm'].includes(call.function.name));
      if (call.type === 'function') validate(JSON.parse(call.function.arguments), schemaOf(call.function.name));
    }
  });

  it('named tool_choice, streamed: deltas join into arguments that validate', async () => {
    const stream = await client.chat.completions.create({ model: 'tiny', max_tokens: 200, stream: true, tools, tool_choice: { type: 'function', function: { name: 'set_alarm' } }, messages: [{ role: 'user', content: 'wake me' }] });
    let args = '';
    let first: { id?: string; type?: string; name?: string } | undefined;
    let finish: string | null = null;
    for await (const ch of stream) {
      const d = ch.choices[0];
      if (!d) continue;
      if (d.finish_reason) finish = d.finish_reason;
      for (const tc of d.delta.tool_calls ?? []) {
        assert.equal(tc.index, 0);
        if (!first) {
          first = { id: tc.id!, type: tc.type!, name: tc.function!.name! };
        } else assert.equal(tc.id, undefined);
        args += tc.function?.arguments ?? '';
      }
    }
    assert.equal(first?.name, 'set_alarm');
    assert.equal(first?.type, 'function');
    assert.equal(finish, 'tool_calls');
    validate(JSON.parse(args), ALARM);
    // The same through the non-streaming helper of the client.
    const r = await client.chat.completions.create({ model: 'tiny', max_tokens: 200, tools, tool_choice: { type: 'function', function: { name: 'get_weather' } }, messages: [{ role: 'user', content: 'weather' }] });
    const call = r.choices[0]!.message.tool_calls![0]!;
    assert.ok(call.type === 'function' && call.function.name === 'get_weather');
    if (call.type === 'function') validate(JSON.parse(call.function.arguments), WEATHER);
  });

  it('tool results round-trip in history; auto tool choice answers text or calls', async () => {
    const r = await client.chat.completions.create({
      model: 'tiny', max_tokens: 30, tools, tool_choice: 'auto',
      messages: [
        { role: 'user', content: 'weather in lima' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"lima","unit":"c"}' } }] },
        { role: 'tool', tool_call_id: 'call_1', content: '{"temp": 18}' },
      ],
    });
    const c = r.choices[0]!;
    assert.ok(['stop', 'length', 'tool_calls'].includes(c.finish_reason));
    if (c.finish_reason === 'tool_calls') for (const t of c.message.tool_calls!) if (t.type === 'function') JSON.parse(t.function.arguments);
    else assert.equal(typeof c.message.content, 'string');
  });

  it('response_format json_schema and json_object: output parses (and validates)', async () => {
    const schema: Schema = { type: 'object', properties: { mood: { type: 'string', enum: ['happy', 'sad'] }, ok: { type: 'boolean' }, tags: { type: 'array', items: { type: 'string', enum: ['x', 'y'] } } }, required: ['mood', 'ok', 'tags'] };
    for (const seed of [1, 2]) {
      const r = await client.chat.completions.create({ model: 'tiny', seed, max_tokens: 200, response_format: { type: 'json_schema', json_schema: { name: 'out', schema: schema as Record<string, unknown>, strict: true } }, messages: [{ role: 'user', content: 'json please' }] });
      assert.equal(r.choices[0]!.finish_reason, 'stop');
      validate(JSON.parse(r.choices[0]!.message.content!), schema);
    }
    const obj = await client.chat.completions.create({ model: 'tiny', max_tokens: 300, response_format: { type: 'json_object' }, messages: [{ role: 'user', content: 'json' }] });
    if (obj.choices[0]!.finish_reason === 'stop') assert.equal(typeof JSON.parse(obj.choices[0]!.message.content!), 'object');
  });

  it('context overflow → 400 with the numbers', async () => {
    const long = Array.from({ length: 2500 }, (_, i) => `w${i}`).join(' ');
    await assert.rejects(client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: long }] }), (e: InstanceType<typeof OpenAI.APIError>) => {
      assert.equal(e.status, 400);
      assert.equal(e.code, 'context_length_exceeded');
      assert.equal(e.type, 'invalid_request_error');
      assert.match(e.message, /maximum context length is 2048 tokens\. However, your request has \d+ input tokens/);
      return true;
    });
    await assert.rejects(client.chat.completions.create({ model: 'tiny', max_tokens: 2100, messages: [{ role: 'user', content: 'hi' }] }), (e: InstanceType<typeof OpenAI.APIError>) => {
      assert.equal(e.status, 400);
      assert.equal(e.param, 'max_tokens');
      assert.match(e.message, /too large: 2100\. This model's maximum context length is 2048 tokens and your request has (\d+) input tokens \(2100 > 2048 - \1\)/);
      return true;
    });
  });

  it('unknown model → 404 and bad fields → 400, in OpenAI error shape', async () => {
    await assert.rejects(client.chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'x' }] }), (e: InstanceType<typeof OpenAI.APIError>) => {
      assert.equal(e.status, 404);
      assert.equal(e.type, 'not_found_error');
      assert.match(e.message, /`nope` does not exist/);
      return true;
    });
    const bad = async (body: unknown, param: string) => {
      const res = await fetch(`${base}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      assert.equal(res.status, 400);
      const j = (await res.json()) as { error: { message: string; type: string; param: string | null; code: unknown } };
      assert.deepEqual(Object.keys(j.error).sort(), ['code', 'message', 'param', 'type']);
      assert.equal(j.error.type, 'invalid_request_error');
      assert.equal(j.error.param, param);
    };
    const msgs = [{ role: 'user', content: 'x' }];
    await bad({ model: 'tiny', messages: msgs, temperature: 5 }, 'temperature');
    await bad({ model: 'tiny' }, 'messages');
    await bad({ model: 'tiny', messages: [{ role: 'wizard', content: 'x' }] }, 'messages[0].role');
    await bad({ model: 'tiny', messages: msgs, tool_choice: { type: 'function', function: { name: 'missing' } }, tools }, 'tool_choice');
    await bad({ model: 'tiny', messages: msgs, max_tokens: 0 }, 'max_tokens');
    await bad({ model: 'narrow', messages: msgs, tools, tool_choice: 'auto' }, 'tool_choice');
    const notJson = await fetch(`${base}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model":' });
    assert.equal(notJson.status, 400);
  });

  it('embeddings for text inputs', async () => {
    const r = await client.embeddings.create({ model: 'tiny', input: ['one two', 'three'], encoding_format: 'float' });
    assert.equal(r.object, 'list');
    assert.equal(r.data.length, 2);
    assert.equal(r.data[0]!.embedding.length, 64);
    assert.ok(r.usage.prompt_tokens > 0);
  });

  it('V2 infer: BYTES text_input → BYTES text_output', async () => {
    const res = await fetch(`${base}/v2/models/tiny/infer`, { method: 'POST', body: JSON.stringify({ inputs: [{ name: 'text_input', datatype: 'BYTES', shape: [2], data: ['hello', 'world'] }] }) });
    assert.equal(res.status, 200);
    const j = (await res.json()) as { outputs: Array<{ name: string; datatype: string; data: string[] }> };
    assert.equal(j.outputs[0]!.name, 'text_output');
    assert.equal(j.outputs[0]!.data.length, 2);
  });

  it('client disconnect cancels generation', async () => {
    const ac = new AbortController();
    const stream = await client.chat.completions.create({ model: 'tiny', max_tokens: 480, stream: true, logit_bias: NO_EOS, messages: [{ role: 'user', content: 'a long story' }] }, { signal: ac.signal });
    let n = 0;
    try {
      for await (const _ of stream) if (++n === 3) ac.abort();
    } catch {
      // The client reports the abort as an error or just ends the stream.
    }
    // Chunks the client had already read when it aborted can still be yielded after the abort
    // (the tiny model streams dozens per read on a busy machine): the check is the server's.
    assert.ok(n >= 3, `${n} chunks`);
    const line = await srv.waitForLog((l) => l.msg === 'LLM generation cancelled' && l.kind === 'chat', 30_000);
    assert.ok((line.completionTokens as number) < 480, `${String(line.completionTokens)} tokens generated`);
  });

  it('a full waiting queue answers 429 with Retry-After', async () => {
    const body = (i: number) => JSON.stringify({ model: 'narrow', prompt: `p${i}`, max_tokens: 100, logit_bias: NO_EOS });
    const results = await Promise.all([0, 1, 2, 3].map((i) => fetch(`${base}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body(i) })));
    const codes = results.map((r) => r.status).sort();
    assert.ok(codes.includes(429), `statuses ${codes}`);
    const limited = results.find((r) => r.status === 429)!;
    assert.equal(limited.headers.get('retry-after'), '1');
    const j = (await limited.json()) as { error: { type: string } };
    assert.equal(j.error.type, 'rate_limit_error');
    assert.ok(codes.filter((c) => c === 200).length >= 2);
  });

  it('50 concurrent streams all complete', async () => {
    const one = async (i: number) => {
      const stream = await client.chat.completions.create({ model: 'tiny', max_tokens: 16, stream: true, stream_options: { include_usage: true }, seed: i, logit_bias: NO_EOS, messages: [{ role: 'user', content: `request ${i}` }] });
      let finish: string | null = null;
      let usage = 0;
      for await (const ch of stream) {
        if (ch.choices[0]?.finish_reason) finish = ch.choices[0].finish_reason;
        if (ch.usage) usage = ch.usage.completion_tokens;
      }
      return { finish, usage };
    };
    const all = await Promise.all(Array.from({ length: 50 }, (_, i) => one(i)));
    for (const r of all) assert.deepEqual(r, { finish: 'length', usage: 16 });
  });
});

describe('vLLM as an external runtime (a stand-in vLLM process)', () => {
  let srv: InferdProcess;
  let client: OpenAI;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'inferd-vllm-'));
    writeFileSync(join(dir, 'models.yaml'), `
apiVersion: serving.kserve.io/v1alpha1
kind: ServingRuntime
metadata:
  name: vllm-runtime
spec:
  supportedModelFormats:
    - name: vllm
      autoSelect: true
  containers:
    - name: kserve-container
      image: vllm/vllm-openai:latest
      args: ["--model=/mnt/models", "--port=8080", "--served-model-name={{.Name}}", "--enable-auto-tool-choice", "--tool-call-parser=hermes"]
      env:
        - name: VLLM_COMMAND
          value: "${process.execPath} ${join(REPO_ROOT, 'test/fixtures/process/fake-vllm.cjs')}"
---
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata:
  name: qwen
spec:
  predictor:
    model:
      modelFormat:
        name: vllm
      runtime: vllm-runtime
      storageUri: file://${dir}
`);
    srv = await startInferd(['-f', join(dir, 'models.yaml')]);
    await waitReady(srv.http, 30_000);
    client = new OpenAI({ baseURL: `${srv.http}/openai/v1`, apiKey: 'x', maxRetries: 0 });
  });
  after(async () => {
    assert.equal(await srv.stop(), 0);
  });

  it('runs the vLLM command with the runtime args and a loopback port, and proxies chat', async () => {
    const r = await client.chat.completions.create({ model: 'qwen', messages: [{ role: 'user', content: 'hi' }] });
    const argv = JSON.parse(r.choices[0]!.message.content!) as string[];
    assert.ok(argv.includes(`--model=${dir}`), argv.join(' '));
    assert.ok(argv.includes('--served-model-name=qwen') && argv.includes('--enable-auto-tool-choice'));
    assert.ok(!argv.includes('--port=8080'));
    assert.equal(argv[argv.indexOf('--host') + 1], '127.0.0.1');
    const models = await client.models.list();
    assert.ok(models.data.some((m) => m.id === 'qwen'));
  });

  it('proxies streaming unchanged', async () => {
    const stream = await client.chat.completions.create({ model: 'qwen', stream: true, messages: [{ role: 'user', content: 'hi' }] });
    let text = '';
    let finish: string | null = null;
    for await (const ch of stream) {
      text += ch.choices[0]?.delta.content ?? '';
      finish = ch.choices[0]?.finish_reason ?? finish;
    }
    assert.equal(text, 'from vllm');
    assert.equal(finish, 'stop');
  });
});
