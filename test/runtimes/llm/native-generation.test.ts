import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { buildVocab, GGUF_PRESETS, writeGguf } from '../../../scripts/gen-gguf.js';
import { NodeLlamaModel } from '../../../src/runtimes/llm/llm-model.js';
import { llamaFor } from '../../../src/runtimes/llm/llm-runtime.js';
import { parseLlmSettings } from '../../../src/runtimes/llm/llm-settings.js';
import type { LlmCompletionRequest } from '../../../src/runtimes/llm/llm-types.js';
import { nativeLlamaFor, type NativeLlamaApi } from '../../../src/runtimes/llm/native-llama.js';
import { sharesNodeLlamaCppLocks } from '../../../src/runtimes/llm/native-generation.js';
import { createLogger } from '../../../src/observability/logger.js';
import { oneTokenThreads } from '../../../src/runtimes/llm/llm-threads.js';
import { pino } from 'pino';

/** The generated vocabulary's newline: the byte token <0x0A> (after <unk>, <s>, </s>, <|im_start|>, <|im_end|> and 10 bytes). */
const NEWLINE = 15;
/** </s>, <|im_start|>, <|im_end|>: banned so generations run to max_tokens. */
const bias = { '2': -100, '3': -100, '4': -100 };
const path = (() => {
  const dir = mkdtempSync(join(tmpdir(), 'native-gen-'));
  writeGguf(join(dir, 'm.gguf'), { preset: 'tiny', seed: 7 });
  return join(dir, 'm.gguf');
})();

/** Each native run started in this process: per sequence, where it began and the position it may decode up to. */
const started: { pos: number; limit: number }[][] = [];

/** The native library, with its runs recorded in `started`; `runs()` counts them. */
async function library(): Promise<{ api: NativeLlamaApi; runs: () => number }> {
  await llamaFor(false);
  const api = nativeLlamaFor(true).api;
  assert.ok(api, nativeLlamaFor(true).why);
  const recorded = api as NativeLlamaApi & { recorded?: true };
  if (!recorded.recorded) {
    const run = api.run.bind(api);
    api.run = (ctxId, seqIds, positions, tokens, samplers, limits, ...rest) => {
      started.push(Array.from(positions, (pos, i) => ({ pos, limit: limits[i]! })));
      return run(ctxId, seqIds, positions, tokens, samplers, limits, ...rest);
    };
    recorded.recorded = true;
  }
  return { api, runs: () => started.length };
}

async function load(sequences: number, generation: boolean, threads = 1): Promise<NodeLlamaModel> {
  const { api } = await library();
  const settings = parseLlmSettings(['--max-model-len=256', `--max-num-seqs=${sequences}`], 'm');
  return NodeLlamaModel.load(await llamaFor(false), path, settings, threads, createLogger('silent'), { why: 'test', api, generation });
}

const requests: LlmCompletionRequest[] = [
  { prompt: 'alpha beta', maxTokens: 40, temperature: 0, logitBias: bias },
  { prompt: 'alpha beta', maxTokens: 40, temperature: 0.8, seed: 3, logitBias: bias },
  { prompt: 'gamma', maxTokens: 40, temperature: 1.2, seed: 9, topP: 0.5, logitBias: bias },
  { prompt: 'delta', maxTokens: 40, temperature: 0.7, seed: 4, topK: 5, minP: 0.05, logitBias: bias },
  // top_k off (vLLM's default): the whole vocabulary, sorted by native/sort-sampler.c.
  { prompt: 'epsilon', maxTokens: 40, temperature: 1, seed: 6, topK: 0, topP: 1, logitBias: bias },
  { prompt: 'zeta', maxTokens: 40, temperature: 0.9, seed: 8, topK: 0, topP: 0.9, minP: 0.02, logitBias: bias },
];

const skip = process.platform !== 'linux' || process.arch !== 'x64' ? 'build/inferd-llama.node is built for linux-x64 only' : false;

describe('native generation (build/inferd-llama.node)', { skip }, () => {
  it('samples exactly as node-llama-cpp does: greedy, seeded temperature with top-k/top-p/min-p, the whole vocabulary, logit bias, chat', async () => {
    const { runs } = await library();
    const texts = async (generation: boolean) => {
      const model = await load(2, generation);
      try {
        const out: string[] = [];
        for (const r of requests) out.push((await model.complete(r)).text);
        out.push((await model.chat({ messages: [{ role: 'user', content: 'hi' }], maxTokens: 30, temperature: 0.9, seed: 2, logitBias: bias })).text);
        return out;
      } finally {
        await model.unload();
      }
    };
    const before = runs();
    const native = await texts(true);
    assert.equal(runs() - before, requests.length + 1, 'each generation ran on the native thread');
    const plain = await texts(false);
    assert.equal(runs() - before, requests.length + 1, 'node-llama-cpp alone started no native run');
    assert.ok(plain.every((t) => t.length > 0));
    assert.deepEqual(native, plain);
  });

  it('samples the whole vocabulary as node-llama-cpp does where logits tie: the same token among equal ones', async () => {
    // Half the words share one output row: their logits are equal at every step.
    const tied = 1500;
    const dir = mkdtempSync(join(tmpdir(), 'native-ties-'));
    const tiedPath = join(dir, 'm.gguf');
    const { vocab } = writeGguf(tiedPath, { preset: 'tiny', seed: 7, tiedOutputRows: tied });
    const words = new Set(buildVocab(GGUF_PRESETS.tiny.vocab, 7, true).tokens.slice(vocab - tied).map((t) => t.replace('\u2581', '')));
    const sampled = [1, 2, 3, 4, 5, 6].map((seed): LlmCompletionRequest => ({ prompt: 'alpha', maxTokens: 30, temperature: 1.5, seed, topK: 0, topP: seed % 2 ? 1 : 0.95, logitBias: bias }));
    const texts = async (generation: boolean) => {
      const settings = parseLlmSettings(['--max-model-len=256', '--max-num-seqs=1'], 'm');
      const model = await NodeLlamaModel.load(await llamaFor(false), tiedPath, settings, 1, createLogger('silent'), { why: 'test', api: (await library()).api, generation });
      try {
        const out: string[] = [];
        for (const r of sampled) out.push((await model.complete(r)).text);
        return out;
      } finally {
        await model.unload();
      }
    };
    const native = await texts(true);
    const fromTies = native.join(' ').split(/\s+/).filter((w) => words.has(w)).length;
    assert.ok(fromTies >= 10, `the generations picked tied tokens (${fromTies} words)`);
    assert.deepEqual(native, await texts(false));
  });

  it('keeps a generation\'s tokens when another request joins and leaves mid-way (alone, together, alone again)', async () => {
    const { runs } = await library();
    const model = await load(2, true, 2);
    try {
      const long: LlmCompletionRequest = { prompt: 'alpha beta gamma', maxTokens: 120, temperature: 0.8, seed: 11, logitBias: bias };
      const short: LlmCompletionRequest = { prompt: 'delta', maxTokens: 20, temperature: 0.8, seed: 5, logitBias: bias };
      const aloneLong = (await model.complete(long)).text;
      const aloneShort = (await model.complete(short)).text;
      const before = runs();
      let joined: Promise<{ text: string }> | undefined;
      let seen = 0;
      const together = await model.complete(long, () => {
        if (++seen === 30) joined = model.complete(short);
      });
      assert.ok(joined, 'the second request started while the first generated');
      assert.equal((await joined).text, aloneShort);
      assert.equal(together.text, aloneLong);
      assert.deepEqual(started.slice(before).map((r) => r.length), [1, 2, 1], 'the long generation ran natively alone, then in one run with the short one, then alone again');
    } finally {
      await model.unload();
    }
  });

  it('runs sequences generating together in one native run, one batch a step, with the texts node-llama-cpp\'s batch steps give', async () => {
    const { runs } = await library();
    const together = async (generation: boolean) => {
      const model = await load(requests.length, generation, 2);
      try {
        return (await Promise.all(requests.map((r) => model.complete(r)))).map((c) => c.text);
      } finally {
        await model.unload();
      }
    };
    const before = runs();
    const native = await together(true);
    // Usually all of them in one run; the prompts' steps can bring them to it one step apart.
    assert.ok(started.slice(before).some((r) => r.length > 1), `a run of several generations (runs of ${started.slice(before).map((r) => r.length).join(', ')})`);
    const batched = runs();
    assert.deepEqual(native, await together(false));
    assert.equal(runs(), batched, 'node-llama-cpp alone started no native run');
  });

  it('samples each sequence from its own logits when llama.cpp reorders a batch\'s outputs (prompts of different lengths, sampled at once)', async () => {
    // Prompts of different lengths: llama.cpp splits the batch into equal-length parts per
    // sequence, so the outputs come out of order and are put back lazily on the first read.
    // Their samples run at once on libuv threads. A wide vocabulary makes the reordering slow
    // enough that, unsynchronised, about one batch in four sampled another row.
    const dir = mkdtempSync(join(tmpdir(), 'native-reorder-'));
    const widePath = join(dir, 'm.gguf');
    writeGguf(widePath, { preset: 'tiny', seed: 7, vocab: 32000 });
    const words = ['alpha beta', 'gamma', 'delta epsilon zeta eta', 'theta', 'iota kappa', 'lambda mu nu', 'xi', 'omicron pi rho sigma'];
    const settings = parseLlmSettings(['--max-model-len=512', `--max-num-seqs=${words.length}`], 'm');
    const open = async (generation: boolean) => NodeLlamaModel.load(await llamaFor(false), widePath, settings, 2, createLogger('silent'), { why: 'test', api: (await library()).api, generation });
    const [native, plain] = [await open(true), await open(false)];
    try {
      for (let round = 0; round < 40; round++) {
        // A new first word each round: no cached prefix, so every prompt is evaluated whole.
        const rs = words.map((w, j): LlmCompletionRequest => ({ prompt: `${round} ${'zeta '.repeat((round * 3 + j) % 5)}${w}`, maxTokens: 3, temperature: 0.9, seed: j + 1, logitBias: bias }));
        const batch = async (model: NodeLlamaModel) => (await Promise.all(rs.map((r) => model.complete(r)))).map((c) => c.text);
        assert.deepEqual(await batch(native), await batch(plain), `round ${round}`);
      }
    } finally {
      await native.unload();
      await plain.unload();
    }
  });

  it('evaluates the prompts of requests arriving together in one batch: a generation waiting for a run joins it', async () => {
    const model = await load(requests.length, true, 2);
    try {
      const short = requests.map((r) => ({ ...r, maxTokens: 12 }));
      const first = await Promise.all(short.map((r) => model.complete(r)));
      // node-llama-cpp's batches: how many sequences each evaluated (an empty answer holds the batch).
      type Strategy = (o: { items: readonly unknown[]; size: number }) => unknown[];
      const options = (model as unknown as { context: { _batchingOptions: { itemPrioritizationStrategy: Strategy } } }).context._batchingOptions;
      const choose = options.itemPrioritizationStrategy;
      const sequences: number[] = [];
      options.itemPrioritizationStrategy = (o) => {
        const chosen = choose(o);
        if (chosen.length) sequences.push(chosen.length);
        return chosen;
      };
      const again = await Promise.all(short.map((r) => model.complete(r)));
      assert.deepEqual(again.map((c) => c.text), first.map((c) => c.text));
      assert.equal(sequences[0], short.length, `the first batch evaluated every request's prompt (batches of ${sequences.join(', ')} sequences)`);
    } finally {
      await model.unload();
    }
  });

  it('ends a generation of a run at its end-of-generation token as node-llama-cpp does, the others going on', async () => {
    // EOS not banned: with this model and these seeds one of them ends at it, mid-run.
    const free: LlmCompletionRequest[] = [8, 9, 10, 11].map((i) => ({ prompt: `alpha ${i}`, maxTokens: 200, temperature: 1.5, seed: i }));
    const outputs = async (generation: boolean) => {
      const model = await load(4, generation, 2);
      try {
        const alone: string[] = [];
        for (const r of free) {
          const c = await model.complete(r);
          alone.push(`${c.finishReason} ${c.completionTokens} ${c.text}`);
        }
        const together = (await Promise.all(free.map((r) => model.complete(r)))).map((c) => `${c.finishReason} ${c.completionTokens} ${c.text}`);
        return { alone, together };
      } finally {
        await model.unload();
      }
    };
    const native = await outputs(true);
    assert.ok(native.alone.some((o) => o.startsWith('stop ')), `one ends at its end-of-generation token: ${native.alone.map((o) => o.split(' ', 2).join(' ')).join(', ')}`);
    assert.deepEqual(native.together, native.alone);
    assert.deepEqual(native, await outputs(false));
  });

  it('keeps the other generations of a run unchanged when one leaves it mid-way (abort, stop string) and beside a grammar generation', async () => {
    const { runs } = await library();
    const model = await load(4, true, 2);
    try {
      const [a, c] = [requests[1]!, requests[2]!];
      const json: LlmCompletionRequest = { prompt: 'x', maxTokens: 40, temperature: 0, responseFormat: { type: 'json_object' } };
      const alone = { a: (await model.complete(a)).text, c: (await model.complete(c)).text, json: (await model.complete(json)).text };
      const at = alone.c.indexOf(' ', 40) + 1;
      assert.ok(at > 0, alone.c);
      const stop = alone.c.slice(at, at + 3);
      const before = runs();
      const ac = new AbortController();
      let n = 0;
      const [ra, rb, rc] = await Promise.all([
        model.complete(a),
        model.complete({ ...requests[3]!, signal: ac.signal }, () => {
          if (++n === 20) ac.abort();
        }),
        model.complete({ ...c, stop: [stop] }),
      ]);
      assert.ok(started.slice(before).some((r) => r.length > 1), `a run of several generations (runs of ${started.slice(before).map((r) => r.length).join(', ')})`);
      assert.equal(ra.text, alone.a);
      assert.equal(rb.finishReason, 'abort');
      assert.equal(rc.finishReason, 'stop');
      assert.ok(alone.c.startsWith(rc.text) && rc.text.length <= at, 'the text up to the stop string');
      const [rj, ra2] = await Promise.all([model.complete(json), model.complete(a)]);
      assert.equal(rj.text, alone.json);
      assert.equal(ra2.text, alone.a);
    } finally {
      await model.unload();
    }
  });

  it('probes a one-token decode at one and at every thread on load, logs the choice and leaves the probed sequence empty', async () => {
    const { api } = await library();
    const lines: string[] = [];
    const log = pino({ level: 'info' }, { write: (l: string) => void lines.push(l) });
    const settings = parseLlmSettings(['--max-model-len=256', '--max-num-seqs=1'], 'm');
    const req: LlmCompletionRequest = { prompt: 'alpha beta', maxTokens: 30, temperature: 0, logitBias: bias };
    const model = await NodeLlamaModel.load(await llamaFor(false), path, settings, 2, log, { why: 'test', api, generation: true });
    let text: string;
    try {
      const ready = lines.map((l) => JSON.parse(l) as { msg: string; oneTokenSteps?: { oneThreadMs: number; allThreadsMs: number; oneTokenThreads: number } }).find((e) => e.msg === 'LLM context ready');
      const probe = ready?.oneTokenSteps;
      assert.ok(probe && probe.oneThreadMs > 0 && probe.allThreadsMs > 0, JSON.stringify(ready));
      assert.equal(probe.oneTokenThreads, oneTokenThreads(2, [probe.oneThreadMs, probe.allThreadsMs]));
      // One sequence: the request runs on the sequence the probe decoded on.
      text = (await model.complete(req)).text;
    } finally {
      await model.unload();
    }
    const plain = await load(1, false, 2);
    try {
      assert.equal(text, (await plain.complete(req)).text);
    } finally {
      await plain.unload();
    }
  });

  it('leaves the cache as node-llama-cpp\'s bookkeeping says after a stop string or an abort cut a run short', async () => {
    const model = await load(1, true);
    try {
      // One sequence: each request reuses the cached prefix of the one before.
      const req: LlmCompletionRequest = { prompt: 'alpha beta', maxTokens: 60, temperature: 0, logitBias: bias };
      const full = (await model.complete(req)).text;
      const at = full.indexOf(' ', 30) + 1;
      const stop = full.slice(at, at + 3);
      const stopped = await model.complete({ ...req, stop: [stop] });
      assert.equal(stopped.finishReason, 'stop');
      assert.ok(full.startsWith(stopped.text) && stopped.text.length <= at, 'the text up to the stop string');
      assert.equal((await model.complete(req)).text, full);
      const ac = new AbortController();
      let n = 0;
      const aborted = await model.complete({ ...req, signal: ac.signal }, () => {
        if (++n === 10) ac.abort();
      });
      assert.equal(aborted.finishReason, 'abort');
      assert.equal((await model.complete(req)).text, full);
    } finally {
      await model.unload();
    }
  });

  it('decodes no further ahead than max_tokens, so a generation ending at its limit leaves no decode running', async () => {
    const { runs } = await library();
    const model = await load(1, true);
    const before = runs();
    try {
      const r = await model.complete({ prompt: 'alpha beta', maxTokens: 40, temperature: 0, logitBias: bias });
      assert.equal(r.completionTokens, 40);
      assert.ok(runs() > before, 'the generation ran natively');
      // The first token comes from the prompt's decode, so a run posts at most 39 more.
      for (const { pos, limit } of started.slice(before).flat()) assert.ok(limit - pos <= 40, `run from ${pos} may decode up to ${limit}`);
    } finally {
      await model.unload();
    }
  });

  it('takes its locks from the lifecycle-utils node-llama-cpp uses (package.json keeps one copy)', () => {
    assert.equal(sharesNodeLlamaCppLocks(), true);
  });

  it('leaves grammar generations to node-llama-cpp', async () => {
    const { runs } = await library();
    const outputs = async (generation: boolean) => {
      const model = await load(1, generation);
      try {
        return (await model.complete({ prompt: 'x', maxTokens: 60, temperature: 0, responseFormat: { type: 'json_object' } })).text;
      } finally {
        await model.unload();
      }
    };
    const before = runs();
    const native = await outputs(true);
    assert.equal(runs(), before, 'no native run');
    assert.doesNotThrow(() => JSON.parse(native));
    assert.equal(native, await outputs(false));
  });

  it('runs presence and frequency penalties natively, with node-llama-cpp\'s tokens', async () => {
    const { runs } = await library();
    const penalised: LlmCompletionRequest[] = [
      { prompt: 'alpha', maxTokens: 60, temperature: 0, presencePenalty: 1.5, logitBias: bias },
      // Past 64 tokens, the window slides.
      { prompt: 'alpha', maxTokens: 150, temperature: 0, frequencyPenalty: 0.8, logitBias: bias },
      { prompt: 'beta', maxTokens: 60, temperature: 0.9, seed: 5, presencePenalty: 0.6, frequencyPenalty: 1.1, logitBias: bias },
      { prompt: 'gamma', maxTokens: 60, temperature: 1, seed: 6, topK: 0, frequencyPenalty: 2, logitBias: bias },
      // A negative frequency penalty repeats tokens: counts above 1, and the window slides past them.
      { prompt: 'delta', maxTokens: 150, temperature: 1.2, seed: 7, frequencyPenalty: -0.7, presencePenalty: 0.4, logitBias: bias },
      // Newlines (<0x0A>, favoured here) are not penalised.
      { prompt: 'epsilon', maxTokens: 60, temperature: 1, seed: 8, presencePenalty: 2, frequencyPenalty: 0.5, logitBias: { ...bias, [NEWLINE]: 4 } },
    ];
    const texts = async (generation: boolean, rs: LlmCompletionRequest[]) => {
      const model = await load(2, generation);
      try {
        const out: string[] = [];
        for (const r of rs) out.push((await model.complete(r)).text);
        out.push((await model.chat({ messages: [{ role: 'user', content: 'hi' }], maxTokens: 40, temperature: 0.9, seed: 2, presencePenalty: 1, logitBias: bias })).text);
        return out;
      } finally {
        await model.unload();
      }
    };
    const before = runs();
    const native = await texts(true, penalised);
    assert.equal(runs() - before, penalised.length + 1, 'each penalised generation ran on the native thread');
    assert.deepEqual(native, await texts(false, penalised));
    // The penalties changed the texts: the same requests without them differ.
    const plain = await texts(true, penalised.map(({ presencePenalty: _p, frequencyPenalty: _f, ...r }) => r));
    assert.ok(native.slice(0, -1).every((t, i) => t !== plain[i]), 'every penalised completion differs from its unpenalised one');
  });

  it('ends a run cleanly when the model unloads under it', async () => {
    const { api } = await library();
    const pooled = api.pooled();
    const model = await load(1, true, 2);
    let started!: () => void;
    const first = new Promise<void>((resolve) => (started = resolve));
    const pending = model.complete({ prompt: 'alpha', maxTokens: 200, temperature: 0.8, seed: 1, logitBias: bias }, () => started());
    await first;
    await model.unload();
    const r = await pending;
    assert.equal(r.finishReason, 'abort');
    assert.ok(r.completionTokens < 200);
    assert.equal(api.pooled(), pooled, 'the context and its pool are gone');
  });
});
