import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InferdError } from '../../../src/api/errors.js';
import { toChatHistory } from '../../../src/runtimes/llm/chat-history.js';
import { parseLlmSettings } from '../../../src/runtimes/llm/llm-settings.js';
import { SequencePool } from '../../../src/runtimes/llm/sequence-pool.js';
import { StepBatching, fill } from '../../../src/runtimes/llm/step-batching.js';
import type { BatchItem, LlamaContext } from 'node-llama-cpp';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildGguf, buildVocab, encodeTensor, writeGguf } from '../../../scripts/gen-gguf.js';
import { llmRuntime } from '../../../src/runtimes/llm/llm-runtime.js';
import { llmThreads, oneTokenThreads, probeOneTokenThreads } from '../../../src/runtimes/llm/llm-threads.js';
import { nativeLlamaFor } from '../../../src/runtimes/llm/native-llama.js';
import { renderVllmMetrics } from '../../../src/runtimes/llm/llm-metrics.js';
import { createLogger } from '../../../src/observability/logger.js';
import type { Logger } from 'pino';
import { pino } from 'pino';

describe('LLM settings from runtime args', () => {
  it('accepts vLLM flag names and several served names', () => {
    const s = parseLlmSettings(['--model', '/m', '--max-model-len', '1024', '--max-num-seqs=4', '--enable-auto-tool-choice', '--tool-call-parser', 'hermes', '--served-model-name', 'a', 'b', '--gpu-memory-utilization', '0.8', '--threads', '1'], 'isvc');
    assert.deepEqual(s.servedNames, ['a', 'b']);
    assert.equal(s.maxModelLen, 1024);
    assert.equal(s.maxNumSeqs, 4);
    assert.equal(s.enableAutoToolChoice, true);
    assert.equal(s.toolCallParser, 'hermes');
    assert.equal(s.gpu, 'auto');
    assert.equal(s.gpuMemoryUtilization, 0.8);
    assert.equal(s.threads, 1);
  });
  it('defaults to the model name, CPU, 8 sequences and rejects bad numbers', () => {
    const s = parseLlmSettings([], 'isvc');
    assert.deepEqual([s.servedNames, s.gpu, s.maxNumSeqs, s.enableAutoToolChoice], [['isvc'], false, 8, false]);
    assert.throws(() => parseLlmSettings(['--max-model-len', 'lots'], 'x'), /max-model-len/);
    assert.throws(() => parseLlmSettings(['--gpu-memory-utilization', '1.5'], 'x'), /gpu-memory-utilization/);
  });
  it('leaves flash attention to llama.cpp unless --flash-attention says on or off', () => {
    assert.equal(parseLlmSettings([], 'x').flashAttention, 'auto');
    assert.equal(parseLlmSettings(['--flash-attention'], 'x').flashAttention, true);
    assert.equal(parseLlmSettings(['--flash-attn', 'off'], 'x').flashAttention, false);
    assert.equal(parseLlmSettings(['--flash-attention=on'], 'x').flashAttention, true);
    assert.throws(() => parseLlmSettings(['--flash-attention=maybe'], 'x'), /flash-attention must be on, off or auto/);
  });
});

describe('LLM ggml thread policy', () => {
  it('gives an LLM a second thread only with a persistent ggml threadpool or one libuv pool thread, and says why', () => {
    assert.equal(llmThreads(1, false, {}, 2).threads, 1);
    assert.equal(llmThreads(1, false, { UV_THREADPOOL_SIZE: '4' }, 2).threads, 1);
    assert.equal(llmThreads(3, false, { UV_THREADPOOL_SIZE: '1' }, 4).threads, 4);
    assert.match(llmThreads(1, false, { UV_THREADPOOL_SIZE: '1' }, 2).why, /UV_THREADPOOL_SIZE=1/);
    assert.equal(llmThreads(1, true, {}, 2).threads, 2);
    assert.equal(llmThreads(7, true, {}, 8).threads, 7);
    assert.equal(llmThreads(1, true, {}, 1).threads, 1);
    assert.match(llmThreads(1, true, {}, 2).why, /persistent ggml threadpool/);
  });
  it('runs one-token native steps on every thread only where the load probe found them clearly faster', () => {
    assert.equal(oneTokenThreads(2, [2.24, 1.68]), 2);
    assert.equal(oneTokenThreads(4, [2.0, 1.8]), 4);
    assert.equal(oneTokenThreads(2, [2.0, 1.9]), 1, 'within the margin');
    assert.equal(oneTokenThreads(2, [1.8, 5.4]), 1);
    assert.equal(oneTokenThreads(1, [NaN, NaN]), 1, 'one thread: nothing probed');
    assert.equal(oneTokenThreads(2, [NaN, 1]), 1);
  });
  it('probes again when every thread came out barely faster than one, keeping each side\'s faster figure', async () => {
    const probes = (...results: Array<[number, number]>) => {
      let calls = 0;
      return { probe: async () => results[calls++]!, calls: () => calls };
    };
    const clear = probes([2.1, 1.5]);
    assert.deepEqual(await probeOneTokenThreads(2, clear.probe), { oneThreadMs: 2.1, allThreadsMs: 1.5, oneTokenThreads: 2 });
    assert.equal(clear.calls(), 1);
    const slower = probes([1.5, 2.1]);
    assert.equal((await probeOneTokenThreads(2, slower.probe)).oneTokenThreads, 1);
    assert.equal(slower.calls(), 1);
    const unclear = probes([2.0, 1.95], [2.1, 1.5]);
    assert.deepEqual(await probeOneTokenThreads(2, unclear.probe), { oneThreadMs: 2.0, allThreadsMs: 1.5, oneTokenThreads: 2 });
    assert.equal(unclear.calls(), 2);
    const single = probes();
    assert.equal((await probeOneTokenThreads(1, single.probe)).oneTokenThreads, 1);
    assert.equal(single.calls(), 0, 'one thread: nothing probed');
  });
});

describe('SequencePool', () => {
  it('hands out sequences, queues FIFO, 429s past the bound and drops aborted waiters', async () => {
    const pool = new SequencePool(['s1'], 2);
    const a = await pool.acquire();
    const order: string[] = [];
    const b = pool.acquire().then((s) => order.push(`b:${s}`));
    const ac = new AbortController();
    const c = pool.acquire(ac.signal);
    await assert.rejects(pool.acquire(), (e: unknown) => InferdError.is(e) && e.code === 'overloaded' && e.retryAfter === 1);
    ac.abort();
    await assert.rejects(c, (e: unknown) => InferdError.is(e) && e.code === 'timeout');
    assert.equal(pool.waiting, 1);
    pool.release(a);
    await b;
    assert.deepEqual(order, ['b:s1']);
  });
  it('hands out the first free sequence in order, so busy sequences stay contiguous', async () => {
    const pool = new SequencePool([0, 1, 2, 3], 4);
    const got = await Promise.all([pool.acquire(), pool.acquire(), pool.acquire()]);
    assert.deepEqual(got, [0, 1, 2]);
    pool.release(2);
    pool.release(0);
    assert.equal(await pool.acquire(), 0);
    assert.equal(await pool.acquire(), 2);
    assert.equal(await pool.acquire(), 3);
  });
});

describe('StepBatching', () => {
  const item = (n: number): BatchItem => ({ tokens: Array.from({ length: n }, () => 1) as never, logits: [], evaluationPriority: 5 });
  /** node-llama-cpp's queue entries, in the same order as the items it builds from them. */
  const contextWith = (entries: Array<[BatchItem, number]>) => ({ _queuedDecodes: entries.map(([i, sequenceId]) => ({ tokens: i.tokens, sequenceId })) }) as unknown as LlamaContext;
  const strategy = (b: StepBatching) => b.options.itemPrioritizationStrategy as (o: { items: readonly BatchItem[]; size: number }) => Array<{ item: BatchItem; processAmount: number }>;

  it('shares the batch like maximum parallelism and hands the rest out in order', () => {
    const [a, b, c] = [item(1), item(100), item(3)];
    assert.deepEqual(fill([a, b, c], 8).map((p) => p.processAmount), [1, 5, 2]);
    assert.deepEqual(fill([b, c], 512).map((p) => p.processAmount), [100, 3]);
    assert.deepEqual(fill([item(5), item(5)], 1).map((p) => p.processAmount), [1]);
  });
  it('orders a batch by sequence id and holds it (boundedly) until every generating sequence queued', () => {
    const [s0, s1, s2] = [item(1), item(1), item(1)];
    const b = new StepBatching();
    let generating = 3;
    b.attach(contextWith([[s2, 2], [s0, 0], [s1, 1]]), () => generating);
    const order = strategy(b)({ items: [s2, s0, s1], size: 512 }).map((p) => p.item);
    assert.deepEqual(order, [s0, s1, s2]);
    generating = 4;
    const answers = Array.from({ length: 12 }, () => strategy(b)({ items: [s2, s0, s1], size: 512 }).length);
    assert.deepEqual(answers.slice(0, 8), [0, 0, 0, 0, 0, 0, 0, 0]);
    assert.equal(answers[8], 3, 'a sequence that never queues delays the batch a bounded number of times');
    assert.equal(answers[9], 0, 'and the next step holds again');
  });
  it('keeps the given order when the context queue does not mirror the items', () => {
    const [s0, s1, s2] = [item(1), item(1), item(1)];
    const b = new StepBatching();
    // Ids are known for both items, but the queue holds one entry more than the batch: not its mirror.
    b.attach(contextWith([[s1, 1], [s0, 0], [s2, 2]]), () => 2);
    assert.deepEqual(strategy(b)({ items: [s1, s0], size: 512 }).map((p) => p.item), [s1, s0]);
  });
});

describe('chat history', () => {
  it('merges tool results into the assistant call they answer and rejects unknown ids', () => {
    const h = toChatHistory([
      { role: 'system', content: 's' },
      { role: 'user', content: 'u' },
      { role: 'assistant', content: null, toolCalls: [{ id: 'c1', name: 'f', arguments: '{"x":1}' }] },
      { role: 'tool', content: 'r', toolCallId: 'c1' },
    ]);
    assert.equal(h.length, 4);
    assert.deepEqual(h[2], { type: 'model', response: [{ type: 'functionCall', name: 'f', params: { x: 1 }, result: 'r' }] });
    assert.deepEqual(h[3], { type: 'model', response: [] });
    assert.throws(() => toChatHistory([{ role: 'tool', content: 'r', toolCallId: 'zz' }]), /tool_call_id/);
  });
});

describe('GGUF generator', () => {
  it('writes a deterministic GGUF v3 header with a valid-UTF-8 vocabulary', () => {
    const opts = { embd: 32, layers: 1, heads: 2, kvHeads: 1, ff: 64, vocab: 600, ctx: 256, type: 'q8_0' as const, seed: 5, chatTemplate: 'chatml' as const, name: 't' };
    const a = buildGguf(opts);
    assert.equal(a.subarray(0, 4).toString(), 'GGUF');
    assert.equal(a.readUInt32LE(4), 3);
    assert.ok(a.equals(buildGguf(opts)));
    const v = buildVocab(600, 5, true);
    assert.ok(v.tokens.includes('<0x0A>'));
    for (const t of v.tokens) assert.equal(Buffer.from(t, 'utf8').toString('utf8'), t);
    assert.equal(new Set(v.tokens).size, v.tokens.length);
  });
  it('encodes Q8_0 blocks as an f16 scale and 32 int8s', () => {
    const data = new Float32Array(32).map((_, i) => i - 16);
    const q = encodeTensor(data, 'q8_0');
    assert.equal(q.length, 34);
    assert.equal(q.readInt8(2), -127);
    assert.equal(encodeTensor(data, 'f16').length, 64);
  });
});

describe('inferd-llm runtime in-process (tiny random GGUF)', () => {
  /** </s>, <|im_start|>, <|im_end|>: banned so generations run to max_tokens. */
  const bias = { '2': -100, '3': -100, '4': -100 };
  const loadTiny = (seed: number, sequences: number, args: string[] = [], log: Logger = createLogger('silent')) => {
    const dir = mkdtempSync(join(tmpdir(), 'llm-unit-'));
    writeGguf(join(dir, 'm.gguf'), { preset: 'tiny', seed });
    return llmRuntime.load({ name: 'm', path: dir, format: { name: 'gguf' }, args: ['--max-model-len=256', `--max-num-seqs=${sequences}`, ...args], env: {}, threads: { intraOp: 1, interOp: 1 }, log });
  };

  it('generates the same greedy text with two ggml threads as with one, alone and beside another sequence', async () => {
    // Two threads take the patched path: one-token steps (one sequence) on one thread, shared steps on both.
    const texts = async (threads: number) => {
      const model = await loadTiny(5, 2, [`--threads=${threads}`]);
      try {
        const llm = model.llm!;
        const alone = await llm.complete({ prompt: 'alpha beta', maxTokens: 24, temperature: 0, logitBias: bias });
        const pair = await Promise.all(['gamma delta', 'epsilon zeta'].map((prompt) => llm.complete({ prompt, maxTokens: 24, temperature: 0, logitBias: bias })));
        return [alone, ...pair].map((r) => `${r.completionTokens}:${r.text}`);
      } finally {
        await model.unload();
      }
    };
    const one = await texts(1);
    assert.ok(one.every((t) => t.startsWith('24:')), 'each generation ran to max_tokens');
    assert.deepEqual(await texts(2), one);
  });

  it('gives each context of two threads a persistent ggml threadpool and frees it with the context', { skip: process.platform !== 'linux' || process.arch !== 'x64' ? 'build/inferd-llama.node is built for linux-x64 only' : false }, async () => {
    const threadsNow = () => readdirSync('/proc/self/task').length;
    const cycle = async () => {
      const model = await loadTiny(9, 1, ['--threads=2']);
      const native = nativeLlamaFor(true);
      assert.ok(native.api, native.why);
      const during = { attached: native.api.pooled(), threads: threadsNow() };
      try {
        const r = await model.llm!.complete({ prompt: 'alpha beta', maxTokens: 12, temperature: 0, logitBias: bias });
        assert.equal(r.completionTokens, 12);
      } finally {
        await model.unload();
      }
      return { during, after: { attached: native.api.pooled(), threads: threadsNow() } };
    };
    const first = await cycle();
    assert.equal(first.during.attached, first.after.attached + 1, 'the model\'s context held a pool while loaded');
    assert.ok(first.after.threads < first.during.threads, 'unloading joined the pool\'s worker');
    // Without llama_free's release each cycle would leave a worker thread behind.
    for (let i = 0; i < 3; i++) assert.deepEqual((await cycle()).after, first.after);
  });

  it('pins the pool\'s worker to the last CPU and gives every other thread its CPUs back after loads and decodes', { skip: process.platform !== 'linux' || process.arch !== 'x64' ? 'build/inferd-llama.node is built for linux-x64 only' : false }, async (t) => {
    const allowed = (tid: string) => /^Cpus_allowed_list:\s*(\S+)$/m.exec(readFileSync(`/proc/self/task/${tid}/status`, 'utf8'))?.[1];
    const all = allowed(String(process.pid))!;
    const cpuList = (text: string) => text.trim().split(',').flatMap((r) => {
      const [a, b = a] = r.split('-').map(Number);
      return Array.from({ length: b! - a! + 1 }, (_, i) => a! + i);
    });
    const cpus = cpuList(all);
    if (cpus.length < 2) return t.skip('one CPU: nothing to pin apart');
    // As the library decides: a CPU sharing its core, or one whose topology cannot be read, means no pinning.
    const sharesCore = (c: number) => {
      try {
        return cpuList(readFileSync(`/sys/devices/system/cpu/cpu${c}/topology/thread_siblings_list`, 'utf8')).some((s) => s !== c && cpus.includes(s));
      } catch {
        return true;
      }
    };
    if (cpus.some(sharesCore)) return t.skip('CPUs share cores (SMT) or their topology is unreadable: the scheduler places the pool');
    const model = await loadTiny(9, 2, ['--threads=2']);
    try {
      // Two sequences: steps of two tokens, decoded on two threads.
      const rs = await Promise.all(['alpha beta', 'gamma'].map((prompt) => model.llm!.complete({ prompt, maxTokens: 12, temperature: 0, logitBias: bias })));
      assert.ok(rs.every((r) => r.completionTokens === 12));
      const lists = readdirSync('/proc/self/task').map(allowed);
      assert.equal(lists.filter((l) => l === String(cpus.at(-1))).length, 1, 'one thread (the pool\'s worker) on the last CPU');
      assert.equal(lists.filter((l) => l !== all).length, 1, 'the main thread and the threads that decoded have all their CPUs');
    } finally {
      await model.unload();
    }
  });

  it('says a step leaves a core free only on one ggml thread: one thread configured, or one sequence generating on the one thread the load\'s probe chose', async () => {
    /** The answers while `prompts` generate together, and the threads the load's probe chose for one-token steps (1 without native generation). */
    const seen = async (threads: number, prompts: string[]) => {
      const lines: string[] = [];
      const model = await loadTiny(5, 2, [`--threads=${threads}`], pino({ level: 'info' }, { write: (l: string) => void lines.push(l) }));
      const ready = lines.map((l) => JSON.parse(l) as { msg: string; oneTokenSteps?: { oneTokenThreads: number } }).find((e) => e.msg === 'LLM context ready');
      // Read from the log, not assumed: a renamed message must fail here, not fall back to one thread.
      assert.ok(ready, 'the load logs "LLM context ready"');
      const probed = ready.oneTokenSteps?.oneTokenThreads ?? 1;
      try {
        const llm = model.llm!;
        const answers = new Set<boolean>();
        // Read from the second token on, when every request of the batch is generating.
        await Promise.all(prompts.map((prompt) => {
          let n = 0;
          return llm.complete({ prompt, maxTokens: 8, temperature: 0, logitBias: bias }, () => { if (++n > 1) answers.add(llm.stepLeavesCoreFree()); });
        }));
        return { answers: [...answers], probed };
      } finally {
        await model.unload();
      }
    };
    // The probe times both thread counts on this machine, so either can win (llm-threads.ts).
    const alone = await seen(2, ['alpha beta']);
    assert.deepEqual(alone.answers, [alone.probed === 1], `one sequence, one-token steps on ${alone.probed} thread(s)`);
    assert.ok((await seen(2, ['gamma delta', 'epsilon zeta'])).answers.includes(false), 'two sequences on two threads take every core');
    assert.deepEqual((await seen(1, ['gamma delta', 'epsilon zeta'])).answers, [true]);
  });

  it('loads, generates, counts metrics, answers V2 and unloads', async () => {
    const model = await loadTiny(3, 2);
    try {
      const llm = model.llm!;
      assert.equal(llm.maxModelLen, 256);
      const r = await llm.chat({ messages: [{ role: 'user', content: 'hi' }], maxTokens: 8, logitBias: bias });
      assert.equal(r.finishReason, 'length');
      assert.equal(r.completionTokens, 8);
      const c = await llm.complete({ prompt: 'abc', maxTokens: 4, logitBias: bias });
      assert.equal(c.completionTokens, 4);
      const m = llm.metrics();
      assert.equal(m.generationTokens, 12);
      assert.equal(m.requestSuccess.length, 2);
      assert.equal(m.timeToFirstToken.count, 2);
      assert.ok(m.interTokenLatency.count > 0);
      assert.ok(m.kvCacheUsage > 0 && m.kvCacheUsage < 1);
      const text = renderVllmMetrics([{ name: 'm', metrics: m }]);
      assert.match(text, /^vllm:generation_tokens_total\{model_name="m",engine="0"\} 12$/m);
      assert.match(text, /^vllm:time_to_first_token_seconds_count\{model_name="m",engine="0"\} 2$/m);
      assert.match(text, /^vllm:request_success_total\{model_name="m",engine="0",finished_reason="length"\} 2$/m);
      const out = await model.infer([{ name: 'text_input', datatype: 'BYTES', shape: [1], data: [new TextEncoder().encode('x')] }], ['text_output']);
      assert.equal(out[0]!.name, 'text_output');
      assert.ok(model.memoryBytes() > 500_000);
      await assert.rejects(llm.chat({ messages: [{ role: 'user', content: 'x '.repeat(400) }] }), /maximum context length is 256 tokens/);
    } finally {
      await model.unload();
    }
  });
  it('stops at a stop string spanning a word boundary and answers the text before it, streamed the same', async () => {
    const model = await loadTiny(7, 1);
    try {
      const llm = model.llm!;
      const req = { prompt: 'alpha beta', maxTokens: 40, temperature: 0, logitBias: bias };
      const full = (await llm.complete(req)).text;
      const words = full.split(' ');
      assert.ok(words.length > 6, full);
      // Two words and the space between them: SentencePiece tokens each carry a leading space.
      const stop = `${words[3]} ${words[4]}`;
      const streamed: string[] = [];
      const r = await llm.complete({ ...req, stop: [stop] }, (e) => e.type === 'text' && streamed.push(e.text));
      assert.equal(r.finishReason, 'stop');
      assert.equal(r.text, full.slice(0, full.indexOf(stop)));
      assert.equal(streamed.join(''), r.text);
    } finally {
      await model.unload();
    }
  });

  it('lets a request join on a used sequence while others generate, instead of after them', async () => {
    const model = await loadTiny(4, 3);
    try {
      const llm = model.llm!;
      // Every sequence holds old tokens, so the joining request must erase its sequence's tail first.
      await Promise.all(['alpha beta', 'gamma delta', 'epsilon zeta'].map((prompt) => llm.complete({ prompt, maxTokens: 8, logitBias: bias })));
      const events: string[] = [];
      /** Resolves once the generation is under way, with its end. */
      const long = (prompt: string) => new Promise<{ done: Promise<unknown> }>((going) => {
        let tokens = 0;
        const done = llm.complete({ prompt, maxTokens: 200, temperature: 0, logitBias: bias }, () => {
          if (++tokens === 5) going({ done });
        }).then((r) => events.push(`long:${r.finishReason}:${r.completionTokens}`));
      });
      const longs = (await Promise.all([long('alpha beta gamma'), long('gamma delta alpha')])).map((l) => l.done);
      const short = llm.complete({ prompt: 'omega sigma tau', maxTokens: 4, temperature: 0, logitBias: bias }).then((r) => events.push(`short:${r.finishReason}:${r.completionTokens}`));
      await Promise.all([...longs, short]);
      assert.deepEqual(events, ['short:length:4', 'long:length:200', 'long:length:200']);
    } finally {
      await model.unload();
    }
  });
});
