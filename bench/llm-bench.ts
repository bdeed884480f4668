/**
 * LLM section: a random-weight llama (~40M parameters, Q8_0) generated into
 * bench-out/, 1/4/8 concurrent streams of 128 tokens each, through inferd's OpenAI
 * API (SSE) next to node-llama-cpp driven in-process with the same settings
 * (one context, 8 sequences, same threads, batch size and flash attention), once with
 * node-llama-cpp's own batching (the baseline) and once with inferd's step batching
 * (so the HTTP cost shows apart from the scheduler's gain). Each figure is the median
 * of REPEAT runs. Also measures ggml threads 1 vs 2 in-process, which is where the
 * runtime's default comes from.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LlamaCompletion, TokenBias, type Token } from 'node-llama-cpp';
import { writeGguf } from '../scripts/gen-gguf.js';
import { llamaFor } from '../src/runtimes/llm/llm-runtime.js';
import { StepBatching } from '../src/runtimes/llm/step-batching.js';
import { availableParallelism } from 'node:os';
import { REPO_ROOT, startInferd, waitReady } from '../test/helpers/inferd-process.js';

const TOKENS = 128;
const CONCURRENCY = [1, 4, 8];
const REPEAT = 3;
const SEQUENCES = 8;
const CTX = 512;
const PROMPT = 'the quick brown fox jumps over the lazy dog';
/** </s>, <|im_start|>, <|im_end|> of the generated vocabulary: banned so every stream runs to 128 tokens. */
const NO_EOS: Record<string, number> = { '2': -100, '3': -100, '4': -100 };

interface Run {
  tokS: number;
  ttftMs: number;
  tokens: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

/** One warm-up run at 1 stream, then `repeat` runs at each concurrency; the run with the median tok/s. */
async function measure(repeat: number, run: (c: number) => Promise<Run>): Promise<Map<number, Run>> {
  await run(1);
  const out = new Map<number, Run>();
  for (const c of CONCURRENCY) {
    const runs: Run[] = [];
    for (let i = 0; i < repeat; i++) runs.push(await run(c));
    const tokS = median(runs.map((r) => r.tokS));
    out.set(c, runs.find((r) => r.tokS === tokS)!);
  }
  return out;
}

function modelPath(): string {
  const dir = join(REPO_ROOT, 'bench-out');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'llm-bench-q8_0.gguf');
  if (!existsSync(path)) writeGguf(path, { preset: 'bench', type: 'q8_0', seed: 42 });
  return path;
}

/** node-llama-cpp in-process: one context with SEQUENCES sequences, `c` completions at once. */
async function direct(path: string, threads: number, batching: 'default' | 'step', repeat: number): Promise<Map<number, Run>> {
  const llama = await llamaFor(false);
  const model = await llama.loadModel({ modelPath: path, gpuLayers: 0 });
  const step = batching === 'step' ? new StepBatching() : undefined;
  const context = await model.createContext({ contextSize: CTX, sequences: SEQUENCES, threads, ...(step ? { batching: step.options } : {}) });
  let generating = 0;
  step?.attach(context, () => generating);
  const seqs = Array.from({ length: SEQUENCES }, () => context.getSequence());
  const bias = new TokenBias(model.tokenizer);
  for (const id of Object.keys(NO_EOS)) bias.set(Number(id) as Token, 'never');
  try {
    return await measure(repeat, async (c) => {
      const started = performance.now();
      const ttft: number[] = [];
      let tokens = 0;
      await Promise.all(seqs.slice(0, c).map(async (seq, i) => {
        const completion = new LlamaCompletion({ contextSequence: seq, autoDisposeSequence: false });
        let first = true;
        generating++;
        try {
          await completion.generateCompletion(`${PROMPT} ${i}`, {
            maxTokens: TOKENS, temperature: 1, seed: i, tokenBias: bias,
            onToken: (t) => {
              if (first) ttft.push(performance.now() - started);
              first = false;
              tokens += t.length;
            },
          });
        } finally {
          generating--;
        }
        // Sequences keep their tokens between runs, as inferd's pool does (prefix reuse on both sides).
        completion.dispose({ disposeSequence: false });
      }));
      return { tokS: tokens / ((performance.now() - started) / 1000), ttftMs: median(ttft), tokens };
    });
  } finally {
    await context.dispose();
    await model.dispose();
  }
}

/** The same through `inferd serve`: /v1/completions with stream:true, TTFT at the first text chunk. */
async function served(path: string, threads: number): Promise<Map<number, Run>> {
  const dir = join(REPO_ROOT, 'bench-out');
  const manifest = join(dir, 'llm-bench.yaml');
  writeFileSync(manifest, `apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata:
  name: bench-llm
spec:
  predictor:
    model:
      modelFormat:
        name: gguf
      storageUri: file://${path}
      args: ["--max-model-len=${CTX}", "--max-num-seqs=${SEQUENCES}", "--threads=${threads}"]
`);
  const srv = await startInferd(['-f', manifest]);
  try {
    await waitReady(srv.http, 120_000);
    const one = async (i: number, started: number, ttft: number[]) => {
      const res = await fetch(`${srv.http}/v1/completions`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'bench-llm', prompt: `${PROMPT} ${i}`, max_tokens: TOKENS, temperature: 1, seed: i, logit_bias: NO_EOS, stream: true, stream_options: { include_usage: true } }),
      });
      let first = true;
      let usage = 0;
      let buf = '';
      for await (const chunk of res.body!) {
        if (first) ttft.push(performance.now() - started);
        first = false;
        buf += Buffer.from(chunk as Uint8Array).toString();
        let idx: number;
        while ((idx = buf.indexOf('\n\n')) >= 0) {
          const ev = buf.slice(0, idx).replace(/^data: /, '');
          buf = buf.slice(idx + 2);
          // Only the usage chunk is parsed: the client shares the 2 cores with the server.
          if (ev === '[DONE]' || !ev.includes('"usage":{')) continue;
          const j = JSON.parse(ev) as { usage?: { completion_tokens: number } | null };
          if (j.usage) usage = j.usage.completion_tokens;
        }
      }
      return usage;
    };
    return await measure(REPEAT, async (c) => {
      const started = performance.now();
      const ttft: number[] = [];
      const counts = await Promise.all(Array.from({ length: c }, (_, i) => one(i, started, ttft)));
      const tokens = counts.reduce((a, b) => a + b, 0);
      return { tokS: tokens / ((performance.now() - started) / 1000), ttftMs: median(ttft), tokens };
    });
  } finally {
    await srv.stop();
  }
}

const f1 = (x: number) => x.toFixed(1);

export async function benchLlm(): Promise<string[]> {
  const lines: string[] = [];
  const t0 = performance.now();
  const path = modelPath();
  lines.push(`model: ${path} (random llama, Q8_0, ~40M parameters), ${TOKENS} tokens per stream, ctx ${CTX}/sequence, ${SEQUENCES} sequences, generated in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const byThreads = new Map<number, Map<number, Run>>();
  for (const t of [1, 2]) byThreads.set(t, await direct(path, t, 'default', t === 1 ? REPEAT : 1));
  lines.push(`in-process node-llama-cpp, ggml threads 1 vs 2 (aggregate tok/s | median TTFT ms; threads=2 one run):`);
  for (const c of CONCURRENCY) {
    const a = byThreads.get(1)!.get(c)!;
    const b = byThreads.get(2)!.get(c)!;
    lines.push(`  ${c} stream(s): threads=1 ${f1(a.tokS)} tok/s, ${f1(a.ttftMs)} ms | threads=2 ${f1(b.tokS)} tok/s, ${f1(b.ttftMs)} ms`);
  }
  const best = CONCURRENCY.every((c) => byThreads.get(2)!.get(c)!.tokS >= byThreads.get(1)!.get(c)!.tokS) ? 2 : CONCURRENCY.every((c) => byThreads.get(1)!.get(c)!.tokS >= byThreads.get(2)!.get(c)!.tokS) ? 1 : 0;
  // The runtime's default is the server's intra-op policy, cores − 1 (1 here).
  const threads = Math.max(1, availableParallelism() - 1);
  lines.push(`  faster everywhere: ${best ? `threads=${best}` : 'mixed'}; runtime default (server thread policy, cores - 1) = ${threads}`);
  const baseline = threads === 1 ? byThreads.get(1)! : await direct(path, threads, 'default', REPEAT);
  const stepped = await direct(path, threads, 'step', REPEAT);
  const inferd = await served(path, threads);
  lines.push(`inferd OpenAI API (SSE /v1/completions) vs in-process node-llama-cpp, threads=${threads}, median of ${REPEAT} runs:`);
  for (const c of CONCURRENCY) {
    const s = inferd.get(c)!;
    const d = baseline.get(c)!;
    const st = stepped.get(c)!;
    lines.push(`  ${c} stream(s): inferd ${f1(s.tokS)} tok/s, TTFT ${f1(s.ttftMs)} ms | direct ${f1(d.tokS)} tok/s, TTFT ${f1(d.ttftMs)} ms | inferd/direct ${(s.tokS / d.tokS * 100).toFixed(0)}% | direct + step batching ${f1(st.tokS)} tok/s (inferd ${(s.tokS / st.tokS * 100).toFixed(0)}% of it)`);
  }
  const scale = inferd.get(8)!.tokS / inferd.get(1)!.tokS;
  lines.push(`  scaling 8 vs 1 stream: inferd ${scale.toFixed(2)}x, direct ${(baseline.get(8)!.tokS / baseline.get(1)!.tokS).toFixed(2)}x, direct + step batching ${(stepped.get(8)!.tokS / stepped.get(1)!.tokS).toFixed(2)}x`);
  return lines;
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  for (const l of await benchLlm()) console.log(l);
}
