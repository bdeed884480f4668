import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { getLlama, LlamaLogLevel, type Llama } from 'node-llama-cpp';
import type { LoadContext, LoadedModel, Runtime } from '../types.js';
import { NodeLlamaModel } from './llm-model.js';
import { parseLlmSettings, type LlmSettings } from './llm-settings.js';
import { loadNativeLlama, nativeLlamaFor } from './native-llama.js';
import { llmThreads } from './llm-threads.js';

const llamas = new Map<string, Promise<Llama>>();

/** One native llama.cpp instance per GPU choice, shared by every model of the process; never builds or downloads. */
export function llamaFor(gpu: LlmSettings['gpu']): Promise<Llama> {
  const key = String(gpu);
  let l = llamas.get(key);
  if (!l) {
    // Before node-llama-cpp loads its CPU addon: inferd's native library must be bound first.
    if (gpu === false) loadNativeLlama(llamas.size === 0);
    l = getLlama({ gpu, build: 'never', logLevel: LlamaLogLevel.error, progressLogs: false, skipDownload: true });
    l.catch(() => llamas.delete(key));
    llamas.set(key, l);
  }
  return l;
}

/** A `.gguf` file, or the first one (by name) in a directory. */
export function findGguf(path: string): string {
  if (!statSync(path).isDirectory()) return path;
  const files = readdirSync(path).filter((f) => f.toLowerCase().endsWith('.gguf')).sort();
  if (!files.length) throw new Error(`no .gguf file in ${path}`);
  return join(path, files[0]!);
}

/**
 * `inferd-llm`: GGUF models on node-llama-cpp (llama.cpp), with an OpenAI-style
 * LLM interface (`LoadedModel.llm`) and a V2 BYTES text_input → text_output signature.
 */
export const llmRuntime: Runtime = {
  name: 'inferd-llm',
  formats: ['gguf', 'llm'],
  async load(ctx: LoadContext): Promise<LoadedModel> {
    const settings = parseLlmSettings(ctx.args, ctx.name);
    const llama = await llamaFor(settings.gpu);
    const native = nativeLlamaFor(settings.gpu === false);
    const policy = llmThreads(ctx.threads.intraOp, native.api !== undefined);
    const threads = settings.threads ?? policy.threads;
    ctx.log.info({ threads, why: settings.threads === undefined ? policy.why : '--threads', native: native.why }, `LLM ggml threads: ${threads}`);
    return NodeLlamaModel.load(llama, findGguf(ctx.path), settings, threads, ctx.log, native);
  },
};
