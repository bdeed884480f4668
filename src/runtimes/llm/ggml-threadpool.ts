import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';

/**
 * The persistent ggml threadpool (native/ggml-threadpool.c, built at install by
 * scripts/build-ggml-threadpool.mjs): once loaded, every llama.cpp context gets a pool whose
 * threads live as long as the context, instead of ggml threads created for each decode.
 * It links to node-llama-cpp's CPU prebuilt, so it is loaded only before node-llama-cpp
 * loads that build, and never when a GPU build came first. `INFERD_LLM_THREADPOOL=off`
 * leaves it out (the behaviour before it, for comparison or if a node-llama-cpp upgrade
 * breaks it).
 */
export interface GgmlThreadpool {
  active: boolean;
  /** Why it is active or not, for the load log. */
  why: string;
  /** Live contexts holding a pool (0 when inactive). */
  attached(): number;
}

const LIBRARY = fileURLToPath(new URL('../../../../build/ggml-threadpool.node', import.meta.url));

let loaded: GgmlThreadpool | undefined;

const off = (why: string): GgmlThreadpool => ({ active: false, why, attached: () => 0 });

/**
 * Loads the library for node-llama-cpp's CPU build, before that build's addon is loaded
 * (`firstLlama`: no llama.cpp build is loaded in this process yet); later calls return the
 * first answer.
 */
export function loadGgmlThreadpool(firstLlama: boolean, env: NodeJS.ProcessEnv = process.env): GgmlThreadpool {
  if (loaded) return loaded;
  if (env.INFERD_LLM_THREADPOOL?.trim().toLowerCase() === 'off') return (loaded = off('INFERD_LLM_THREADPOOL=off'));
  if (!firstLlama) return (loaded = off('a GPU build of llama.cpp was loaded first'));
  if (!existsSync(LIBRARY)) return (loaded = off('build/ggml-threadpool.node was not built at install (npm ci prints why)'));
  const mod = { exports: {} as { attached?: () => number } };
  try {
    // RTLD_GLOBAL: its llama_init_from_model and llama_free must come before llama.cpp's when node-llama-cpp's addon binds them.
    process.dlopen(mod, LIBRARY, constants.dlopen.RTLD_NOW | constants.dlopen.RTLD_GLOBAL);
  } catch (err) {
    return (loaded = off(`build/ggml-threadpool.node failed to load: ${(err as Error).message}`));
  }
  const attached = mod.exports.attached;
  if (typeof attached !== 'function') return (loaded = off('build/ggml-threadpool.node is not the expected library'));
  return (loaded = { active: true, why: 'a persistent ggml threadpool per context (build/ggml-threadpool.node)', attached });
}

/** The threadpool state for models on the CPU build (`cpuBuild`) or a GPU build. */
export function ggmlThreadpoolFor(cpuBuild: boolean): GgmlThreadpool {
  if (!cpuBuild) return off('a GPU build of llama.cpp: its own threads');
  return loaded ?? off('not loaded: no CPU llama.cpp build loaded yet');
}
