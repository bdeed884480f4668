import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';

/** A llama.cpp sampler chain owned by the native library (freed when collected). */
export type NativeSampler = { readonly __nativeSampler: unique symbol };
/** A generation run on the library's own thread. */
export type NativeRun = { readonly __nativeRun: unique symbol };

export interface SamplerConfig {
  temperature: number;
  topK: number;
  topP: number;
  minP: number;
  seed?: number;
  biasTokens?: Uint32Array;
  biasValues?: Float32Array;
  /** node-llama-cpp's repeat penalty: over the last `penaltyLastN` tokens sampled, the newline token excepted. */
  penaltyLastN?: number;
  penaltyRepeat?: number;
  penaltyFrequency?: number;
  penaltyPresence?: number;
}

/** build/inferd-llama.node (native/*.c): what src/runtimes/llm uses of it. */
export interface NativeLlamaApi {
  /** Live contexts holding a persistent ggml threadpool. */
  pooled(): number;
  /** The id the next llama.cpp context will get, and the ids of live contexts created since. */
  contextMark(): number;
  contextsSince(mark: number): number[];
  sampler(ctxId: number, config: SamplerConfig): NativeSampler;
  /** Samples the output at `batchIndex` of the context's last decode, on a libuv thread. */
  sample(ctxId: number, batchIndex: number, sampler: NativeSampler): Promise<number>;
  /**
   * Generates on the library's thread, one batch of every active sequence a step (one entry
   * per sequence in each array): onMessage(0, index, token) per sampled token (2 for an
   * end-of-generation token, with which the sequence leaves the run), then
   * onMessage(1, -1, llama_decode status). No step starts while `maxAhead` tokens are unacked.
   */
  run(ctxId: number, seqIds: Int32Array, positions: Int32Array, tokens: Int32Array, samplers: NativeSampler[], limits: Int32Array, maxAhead: number, onMessage: (kind: 0 | 1 | 2, index: number, value: number) => void, oneTokenThreads: number): NativeRun;
  ack(run: NativeRun): void;
  stop(run: NativeRun): void;
  /** Sequence `index` of the run is in no step that starts after this. */
  leave(run: NativeRun, index: number): void;
  /** The fastest one-token decode (ms) at 1 thread and at the context's threads, on empty sequence `seqId` (on a libuv thread; the cells are dropped after). */
  probeThreads(ctxId: number, seqId: number): Promise<[one: number, all: number]>;
  /** Drops the sequence's KV cells from position `from` on. */
  forget(ctxId: number, seqId: number, from: number): boolean;
}

/**
 * inferd's native companion to node-llama-cpp (built at install by
 * scripts/build-native-llama.mjs), once loaded:
 * - every llama.cpp context gets a persistent ggml threadpool (native/contexts.c), instead
 *   of ggml threads created for each decode, its workers pinned apart from the decoding
 *   thread where no CPUs share a core;
 * - plain generations can run decode and sampling on one thread of their own
 *   (native/generate.c, native-generation.ts).
 * It links to node-llama-cpp's CPU prebuilt, so it is loaded only before node-llama-cpp
 * loads that build, and never when a GPU build came first; a GPU build loaded after it
 * creates, frees and decodes its contexts through its own llama.cpp (native/contexts.c,
 * `callers`). `INFERD_LLM_NATIVE=off` leaves it out (the behaviour before it, for comparison
 * or if a node-llama-cpp upgrade breaks it); `INFERD_LLM_NATIVE=threadpool` keeps only the
 * threadpool.
 */
export interface NativeLlama {
  /** Why it is active or not, for the load log. */
  why: string;
  api?: NativeLlamaApi;
  /** Plain generations run natively (native-generation.ts); off with INFERD_LLM_NATIVE=threadpool. */
  generation: boolean;
}

const NAME = 'build/inferd-llama.node';
const LIBRARY = fileURLToPath(new URL(`../../../../${NAME}`, import.meta.url));
const FUNCTIONS = ['pooled', 'contextMark', 'contextsSince', 'sampler', 'sample', 'run', 'ack', 'stop', 'leave', 'forget', 'probeThreads'] as const;

let loaded: NativeLlama | undefined;

/**
 * Loads the library for node-llama-cpp's CPU build, before that build's addon is loaded
 * (`firstLlama`: no llama.cpp build is loaded in this process yet); later calls return the
 * first answer.
 */
export function loadNativeLlama(firstLlama: boolean, env: NodeJS.ProcessEnv = process.env): NativeLlama {
  if (loaded) return loaded;
  const mode = env.INFERD_LLM_NATIVE?.trim().toLowerCase();
  if (mode === 'off') return (loaded = off('INFERD_LLM_NATIVE=off'));
  if (!firstLlama) return (loaded = off('a GPU build of llama.cpp was loaded first'));
  if (!existsSync(LIBRARY)) return (loaded = off(`${NAME} was not built at install (npm ci prints why)`));
  const mod = { exports: {} as Partial<NativeLlamaApi> };
  try {
    // RTLD_GLOBAL: its llama_init_from_model and llama_free must come before llama.cpp's when node-llama-cpp's addon binds them.
    process.dlopen(mod, LIBRARY, constants.dlopen.RTLD_NOW | constants.dlopen.RTLD_GLOBAL);
  } catch (err) {
    return (loaded = off(`${NAME} failed to load: ${(err as Error).message}`));
  }
  if (!FUNCTIONS.every((f) => typeof mod.exports[f] === 'function')) return (loaded = off(`${NAME} is not the expected library`));
  const api = mod.exports as NativeLlamaApi;
  if (mode === 'threadpool') return (loaded = { why: `a persistent ggml threadpool per context (${NAME}); INFERD_LLM_NATIVE=threadpool`, api, generation: false });
  return (loaded = { why: `a persistent ggml threadpool per context and native generation (${NAME})`, api, generation: true });
}

const off = (why: string): NativeLlama => ({ why, generation: false });

/** The library's state for models on the CPU build (`cpuBuild`) or a GPU build. */
export function nativeLlamaFor(cpuBuild: boolean): NativeLlama {
  if (!cpuBuild) return off('a GPU build of llama.cpp: its own threads and generation');
  return loaded ?? off('not loaded: no CPU llama.cpp build loaded yet');
}
