import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ERROR_TABLE, InferdError, invalidInput, publicMessage, quote, toInferdError } from '../../api/errors.js';
import type { LlmEvent, LlmModel, LlmResult } from '../../runtimes/llm/llm-types.js';
import type { ModelEndpoint } from '../../serving/model-endpoint.js';
import type { ModelRouter } from '../../serving/model-router.js';
import { parseJson } from '../http/body.js';
import { holdFor } from '../http/hold.js';
import { allowedOf } from '../../security/principal.js';
import { REVISION_HEADER, namespaceOf, namespacedPaths, routingHints } from '../http/routing.js';
import { ChatBody, CompletionBody, EmbeddingBody, parseBody, toChatRequest, toCompletionRequests } from './openai-schemas.js';

/** OpenAI's paths, each also under `/ns/{namespace}` (src/protocols/http/routing.ts). */
const PREFIXES = ['/v1', '/openai/v1'].flatMap((p) => namespacedPaths(p));

/** OpenAI's error body: `{"error":{"message","type","param","code"}}`, status and type from the one error table. */
export function sendOpenAiError(reply: FastifyReply, raw: unknown): FastifyReply {
  const err = toInferdError(raw);
  const mapping = ERROR_TABLE[err.code];
  if (err.retryAfter !== undefined) void reply.header('retry-after', String(err.retryAfter));
  return reply.code(mapping.http).type('application/json').send(JSON.stringify({ error: errorBody(err) }));
}

function errorBody(err: InferdError) {
  const extra = err as InferdError & { openaiCode?: string };
  const code = extra.openaiCode ?? (err.code === 'not_found' ? 'model_not_found' : null);
  return { message: err.code === 'internal' ? 'internal error' : publicMessage(err), type: ERROR_TABLE[err.code].openai, param: err.field ?? null, code };
}

interface Resolved {
  ep: ModelEndpoint;
  llm: LlmModel;
  name: string;
}

async function resolveLlm(router: ModelRouter, req: FastifyRequest, reply: FastifyReply, name: string): Promise<Resolved> {
  let ep: ModelEndpoint;
  try {
    ep = router.resolve(name, namespaceOf(req), routingHints(req), allowedOf(req));
  } catch (err) {
    if (!InferdError.is(err) || err.code !== 'not_found') throw err;
    // --served-model-name aliases.
    const alias = router.list(allowedOf(req)).find((e) => (e.loadedModel?.llm ?? e.llmAsLoaded)?.servedNames.includes(name));
    if (!alias) throw Object.assign(new InferdError('not_found', `The model \`${quote(name)}\` does not exist.`, { field: 'model' }), { openaiCode: 'model_not_found' });
    ep = alias;
  }
  // Loads an on-demand model (the same wait and 429 as V1/V2) and holds it until the answer is sent.
  const llm = (await holdFor(ep, reply)).llm;
  if (!llm) throw invalidInput(`model ${quote(name)} is not a language model; the OpenAI API serves models of format gguf/llm`, 'model');
  return { ep, llm, name };
}

/** The base URL of an external server (vLLM) when `model` names a model served by one; an on-demand one loads first. */
async function proxyFor(router: ModelRouter, req: FastifyRequest, reply: FastifyReply, json: unknown): Promise<{ ep: ModelEndpoint; baseUrl: string } | undefined> {
  const name = (json as { model?: unknown } | null)?.model;
  if (typeof name !== 'string') return undefined;
  let ep: ModelEndpoint;
  try {
    ep = router.resolve(name, namespaceOf(req), routingHints(req), allowedOf(req));
  } catch {
    return undefined;
  }
  if (!ep.available) return undefined;
  const proxy = (ep.loadedModel ?? (await holdFor(ep, reply))).openaiProxy;
  return proxy ? { ep, baseUrl: proxy.baseUrl } : undefined;
}

/** Forwards the request unchanged and streams the answer back (SSE included); a client disconnect aborts the upstream request. */
async function forward(target: { ep: ModelEndpoint; baseUrl: string }, path: string, req: FastifyRequest<{ Body: Buffer }>, reply: FastifyReply): Promise<undefined> {
  const ac = new AbortController();
  reply.raw.on('close', () => {
    if (!reply.raw.writableFinished) ac.abort();
  });
  let res: Response;
  try {
    res = await fetch(`${target.baseUrl}${path}`, { method: req.method, headers: { 'content-type': 'application/json', accept: String(req.headers.accept ?? '*/*') }, body: req.method === 'GET' ? null : req.body, signal: ac.signal });
  } catch (err) {
    throw new InferdError('not_ready', `the external server of model ${target.ep.name} is not reachable`, { retryAfter: 1, cause: err });
  }
  reply.hijack();
  reply.raw.writeHead(res.status, { 'content-type': res.headers.get('content-type') ?? 'application/json', 'cache-control': 'no-cache', [REVISION_HEADER]: target.ep.revisionName });
  try {
    if (res.body) for await (const chunk of res.body) reply.raw.write(chunk);
  } catch {
    // Upstream or client went away: nothing more to send.
  }
  reply.raw.end();
  return undefined;
}

/** Aborts when the client goes away before the response is complete, or when shutdown cuts remaining work. */
function disconnectSignal(reply: FastifyReply, router: ModelRouter): AbortSignal {
  const ac = new AbortController();
  reply.raw.on('close', () => {
    if (!reply.raw.writableFinished) ac.abort();
  });
  return AbortSignal.any([ac.signal, router.cutSignal]);
}

/** A generation stopped by shutdown is an error (503 / a stream's error event), not a normal finish. */
function throwIfCut(router: ModelRouter): void {
  if (router.cutSignal.aborted) throw router.cutSignal.reason;
}

/**
 * A server-sent event stream that starts (headers, first chunk) only at the first write, so early
 * errors keep their HTTP status. While the model's next step leaves a core free, events after
 * the first are written one event-loop turn later, in one write per turn: a token's event is
 * produced before node-llama-cpp queues the next decode (it dispatches on setImmediate), and
 * writing it there put the socket write on every token's critical path (1 stream: +7% to +25%
 * tok/s). When the step takes every core, a write during it stalls all of its ggml threads,
 * so events go at once (4 and 8 streams on two threads: +19% and +29%, docs/llm.md).
 */
class Sse {
  private started = false;
  /** Events not yet written: whenever it is non-empty, a flush is scheduled. */
  private pending = '';
  /** `defer`: whether events after the first wait for the next event-loop turn (LlmModel.stepLeavesCoreFree). */
  constructor(private readonly reply: FastifyReply, private readonly headers: Record<string, string>, private readonly defer: () => boolean) {}
  get open(): boolean {
    return this.started;
  }
  send(obj: unknown): void {
    const scheduled = this.pending !== '';
    this.pending += `data: ${JSON.stringify(obj)}\n\n`;
    if (!this.started) {
      this.started = true;
      this.reply.hijack();
      this.reply.raw.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no', ...this.headers });
      return this.flush(); // the first event at once: time to first token is not deferred
    }
    // A step on every core would stall behind the write: write before it starts.
    if (!this.defer()) return this.flush();
    // Two hops: node-llama-cpp queues its dispatch after this event is produced, so one
    // setImmediate would still run before it; the second runs on the next turn.
    if (!scheduled) setImmediate(() => setImmediate(() => this.flush()));
  }
  end(): void {
    // What waits and the terminator in one write; the scheduled flush then finds nothing.
    const data = `${this.pending}data: [DONE]\n\n`;
    this.pending = '';
    if (!this.reply.raw.destroyed) this.reply.raw.end(data);
  }
  private flush(): void {
    const data = this.pending;
    this.pending = '';
    if (data && !this.reply.raw.destroyed) this.reply.raw.write(data);
  }
}

const now = () => Math.floor(Date.now() / 1000);
const finish = (r: LlmResult) => (r.finishReason === 'abort' ? 'stop' : r.finishReason);
const usageOf = (results: LlmResult[], promptOnce = false) => {
  const prompt = promptOnce ? (results[0]?.promptTokens ?? 0) : results.reduce((s, r) => s + r.promptTokens, 0);
  const completion = results.reduce((s, r) => s + r.completionTokens, 0);
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
};

/** OpenAI-compatible routes at /v1 and /openai/v1 for models served by an LLM runtime. */
export function registerOpenAiRoutes(app: FastifyInstance, router: ModelRouter): void {
  const handle = (fn: (req: FastifyRequest<{ Body: Buffer }>, reply: FastifyReply) => Promise<unknown>) =>
    async (req: FastifyRequest<{ Body: Buffer }>, reply: FastifyReply) => {
      try {
        return await fn(req, reply);
      } catch (err) {
        if (toInferdError(err).code === 'internal') req.log.error({ err }, 'internal error');
        if (reply.sent) return undefined;
        return sendOpenAiError(reply, err);
      }
    };

  const models = async (req: FastifyRequest) => {
    const ns = (req.params as { namespace?: string } | undefined)?.namespace;
    const allowed = allowedOf(req);
    const eps = router.list(ns === undefined ? allowed : (n) => n === ns && (!allowed || allowed(n)));
    const data = eps.flatMap((ep) => {
      // A model on standby stays listed (a request loads it), as of its last load.
      const llm = ep.loadedModel?.llm ?? ep.llmAsLoaded;
      if (!llm) return ep.loadedModel?.openaiProxy ? [{ id: ep.name, object: 'model', created: Math.floor(ep.loadedAt / 1000), owned_by: 'vllm', root: ep.name }] : [];
      const names = [...new Set([ep.name, ...llm.servedNames])];
      return names.map((id) => ({ id, object: 'model', created: Math.floor(ep.loadedAt / 1000), owned_by: 'inferd', root: ep.name, max_model_len: llm.maxModelLen }));
    });
    return { object: 'list', data, models: eps.map((e) => e.name) };
  };

  for (const prefix of PREFIXES) {
    app.get(`${prefix}/models`, models);
    if (prefix.endsWith('/openai/v1')) {
      // /v1/models/{name} stays KServe V1 model status.
      app.get(`${prefix}/models/:name`, handle(async (req, reply) => {
        const { name } = req.params as { name: string };
        const { ep, llm } = await resolveLlm(router, req, reply, name);
        return { id: name, object: 'model', created: Math.floor(ep.loadedAt / 1000), owned_by: 'inferd', max_model_len: llm.maxModelLen };
      }));
    }

    app.post(`${prefix}/chat/completions`, handle(async (req, reply) => {
      const json = parseJson(req.body);
      const proxied = await proxyFor(router, req, reply, json);
      if (proxied) return forward(proxied, '/v1/chat/completions', req, reply);
      const body = parseBody(ChatBody, json);
      const { ep, llm, name } = await resolveLlm(router, req, reply, body.model);
      void reply.header(REVISION_HEADER, ep.revisionName);
      const base = toChatRequest(body);
      const n = body.n ?? 1;
      const signal = disconnectSignal(reply, router);
      const id = `chatcmpl-${crypto.randomUUID().replace(/-/g, '')}`;
      const created = now();
      const requests = Array.from({ length: n }, (_, i) => ({ ...base, signal, ...(base.seed !== undefined ? { seed: base.seed + i } : {}) }));
      if (!body.stream) {
        const results = await Promise.all(requests.map((r) => llm.chat(r)));
        throwIfCut(router);
        return {
          id, object: 'chat.completion', created, model: name,
          choices: results.map((r, index) => ({
            index,
            message: {
              role: 'assistant',
              content: r.toolCalls.length && !r.text ? null : r.text,
              ...(r.toolCalls.length ? { tool_calls: r.toolCalls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } })) } : {}),
            },
            logprobs: null,
            finish_reason: finish(r),
          })),
          usage: usageOf(results),
        };
      }
      const includeUsage = body.stream_options?.include_usage === true;
      const sse = new Sse(reply, { [REVISION_HEADER]: ep.revisionName }, () => llm.stepLeavesCoreFree());
      const chunk = (choices: unknown[]) => ({ id, object: 'chat.completion.chunk', created, model: name, choices, ...(includeUsage ? { usage: null } : {}) });
      const roleSent = new Set<number>();
      const emit = (index: number, delta: Record<string, unknown>) => {
        if (!roleSent.has(index)) {
          roleSent.add(index);
          sse.send(chunk([{ index, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }]));
        }
        sse.send(chunk([{ index, delta, logprobs: null, finish_reason: null }]));
      };
      const onEvent = (index: number) => (e: LlmEvent) => {
        if (e.type === 'text') {
          if (e.text) emit(index, { content: e.text });
        } else if (e.type === 'tool_call') emit(index, { tool_calls: [{ index: e.index, id: e.id, type: 'function', function: { name: e.name, arguments: '' } }] });
        else emit(index, { tool_calls: [{ index: e.index, function: { arguments: e.text } }] });
      };
      const results: LlmResult[] = [];
      try {
        await Promise.all(requests.map(async (r, index) => {
          const res = await llm.chat(r, onEvent(index));
          throwIfCut(router);
          results[index] = res;
          if (!roleSent.has(index)) emit(index, { content: '' });
          sse.send(chunk([{ index, delta: {}, logprobs: null, finish_reason: finish(res) }]));
        }));
      } catch (err) {
        if (!sse.open) throw err;
        sse.send({ error: errorBody(toInferdError(err)) });
        sse.end();
        return undefined;
      }
      if (includeUsage) sse.send({ id, object: 'chat.completion.chunk', created, model: name, choices: [], usage: usageOf(results) });
      sse.end();
      return undefined;
    }));

    app.post(`${prefix}/completions`, handle(async (req, reply) => {
      const json = parseJson(req.body);
      const proxied = await proxyFor(router, req, reply, json);
      if (proxied) return forward(proxied, '/v1/completions', req, reply);
      const body = parseBody(CompletionBody, json);
      const { ep, llm, name } = await resolveLlm(router, req, reply, body.model);
      void reply.header(REVISION_HEADER, ep.revisionName);
      const prompts = toCompletionRequests(body, (t) => llm.detokenize(t));
      const n = body.n ?? 1;
      const signal = disconnectSignal(reply, router);
      const id = `cmpl-${crypto.randomUUID().replace(/-/g, '')}`;
      const created = now();
      const requests = prompts.flatMap((p) => Array.from({ length: n }, (_, i) => ({ ...p, signal, ...(p.seed !== undefined ? { seed: p.seed + i } : {}) })));
      const echo = (i: number) => (body.echo ? requests[i]!.prompt : '');
      if (!body.stream) {
        const results = await Promise.all(requests.map((r) => llm.complete(r)));
        throwIfCut(router);
        return {
          id, object: 'text_completion', created, model: name,
          choices: results.map((r, index) => ({ index, text: echo(index) + r.text, logprobs: null, finish_reason: finish(r) })),
          usage: usageOf(results),
        };
      }
      const includeUsage = body.stream_options?.include_usage === true;
      const sse = new Sse(reply, { [REVISION_HEADER]: ep.revisionName }, () => llm.stepLeavesCoreFree());
      const chunk = (choices: unknown[]) => ({ id, object: 'text_completion', created, model: name, choices, ...(includeUsage ? { usage: null } : {}) });
      const results: LlmResult[] = [];
      try {
        await Promise.all(requests.map(async (r, index) => {
          if (body.echo) sse.send(chunk([{ index, text: r.prompt, logprobs: null, finish_reason: null }]));
          const res = await llm.complete(r, (e) => {
            if (e.type === 'text' && e.text) sse.send(chunk([{ index, text: e.text, logprobs: null, finish_reason: null }]));
          });
          throwIfCut(router);
          results[index] = res;
          sse.send(chunk([{ index, text: '', logprobs: null, finish_reason: finish(res) }]));
        }));
      } catch (err) {
        if (!sse.open) throw err;
        sse.send({ error: errorBody(toInferdError(err)) });
        sse.end();
        return undefined;
      }
      if (includeUsage) sse.send({ id, object: 'text_completion', created, model: name, choices: [], usage: usageOf(results) });
      sse.end();
      return undefined;
    }));

    app.post(`${prefix}/embeddings`, handle(async (req, reply) => {
      const json = parseJson(req.body);
      const proxied = await proxyFor(router, req, reply, json);
      if (proxied) return forward(proxied, '/v1/embeddings', req, reply);
      const body = parseBody(EmbeddingBody, json);
      const { llm, name } = await resolveLlm(router, req, reply, body.model);
      if (!llm.canEmbed) throw invalidInput(`model ${quote(name)} does not produce embeddings`, 'model');
      if (body.dimensions != null) throw invalidInput('dimensions is not supported: the model returns its own embedding width', 'dimensions');
      const input = body.input;
      const texts: string[] =
        typeof input === 'string' ? [input]
        : typeof input[0] === 'string' ? (input as string[])
        : typeof input[0] === 'number' ? [llm.detokenize(input as number[])]
        : (input as number[][]).map((t) => llm.detokenize(t));
      const { vectors, promptTokens } = await llm.embed(texts);
      const base64 = body.encoding_format === 'base64';
      return {
        object: 'list',
        data: vectors.map((v, index) => ({ object: 'embedding', index, embedding: base64 ? Buffer.from(new Float32Array(v).buffer).toString('base64') : v })),
        model: name,
        usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
      };
    }));
  }
}
