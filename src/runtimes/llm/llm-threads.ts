import { availableParallelism } from 'node:os';

/**
 * ggml threads for an LLM whose args do not set `--threads`. node-llama-cpp runs each decode
 * as a libuv pool task that creates its extra ggml threads anew; with more than one pool
 * thread the new thread often lands on its creator's core while the other idles, and two
 * ggml threads then fall to a fifth of one thread's speed (measured on 2 cores: 67–115
 * tok/s against 285–385; docs/llm.md traces it). With one pool thread
 * (`UV_THREADPOOL_SIZE=1`, which only the environment can set, before start) two threads win
 * from 4 streams up (+30–50% at 8), so the model gets every core; otherwise the server's
 * intra-op count (cores − 1), which leaves the event loop its core. docs/llm.md has the figures.
 */
export function llmThreads(intraOp: number, env: NodeJS.ProcessEnv = process.env, cores = availableParallelism()): { threads: number; why: string } {
  if (env.UV_THREADPOOL_SIZE?.trim() === '1') return { threads: cores, why: 'one libuv pool thread (UV_THREADPOOL_SIZE=1): every core' };
  return { threads: intraOp, why: 'the server thread policy (cores − 1); UV_THREADPOOL_SIZE=1 would allow every core' };
}
