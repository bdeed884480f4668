import { availableParallelism } from 'node:os';

/**
 * ggml threads for an LLM whose args do not set `--threads`. Without a persistent ggml
 * threadpool (native-llama.ts), each decode creates its extra ggml threads anew from a
 * libuv pool task; with more than one pool thread the new thread often lands on its
 * creator's core while the other idles, and two ggml threads then fall to a fifth of one
 * thread's speed (measured on 2 cores: 67–115 tok/s against 285–385; docs/llm.md traces
 * it). With the persistent pool two threads win from 4 streams up on 2 cores, so the model
 * gets the server's intra-op count (cores − 1, which leaves the event loop and sampling a
 * core on larger machines) but at least two threads. With one libuv pool thread
 * (`UV_THREADPOOL_SIZE=1`, which only the environment can set, before start) it gets every
 * core, as measured before the pool; otherwise cores − 1. A one-token step runs on one
 * thread on node-llama-cpp's path (patches/README.md); for native runs, see oneTokenThreads.
 */
export function llmThreads(intraOp: number, threadpool: boolean, env: NodeJS.ProcessEnv = process.env, cores = availableParallelism()): { threads: number; why: string } {
  if (threadpool) return { threads: Math.min(cores, Math.max(2, intraOp)), why: 'a persistent ggml threadpool: the server thread policy (cores − 1), at least 2' };
  if (env.UV_THREADPOOL_SIZE?.trim() === '1') return { threads: cores, why: 'one libuv pool thread (UV_THREADPOOL_SIZE=1): every core' };
  return { threads: intraOp, why: 'the server thread policy (cores − 1); a persistent ggml threadpool or UV_THREADPOOL_SIZE=1 would allow every core' };
}

/** How much faster a one-token decode must probe on every thread than on one to use them all. */
export const ONE_TOKEN_MARGIN = 0.9;

/**
 * ggml threads for the one-token steps of a native run (one sequence generating alone),
 * from the load's probe (the fastest one-token decode, in ms, at 1 thread and at `threads`).
 * The CPU decides: before the pinned pool, two threads ran one stream at a third of one
 * thread's speed on one 2-vCPU host (patches/README.md); with it, two threads ran one stream
 * 22% faster on another (docs/llm.md). The event loop's work on each token runs beside a
 * run's decodes, on a core a second thread needs, so every thread is used only when the
 * probe finds them clearly faster (at most ONE_TOKEN_MARGIN of one thread's time).
 */
export function oneTokenThreads(threads: number, probe: readonly [one: number, all: number]): number {
  const [one, all] = probe;
  return threads > 1 && Number.isFinite(one) && Number.isFinite(all) && all <= one * ONE_TOKEN_MARGIN ? threads : 1;
}

/**
 * Probes (`probe`: the fastest one-token decode at one thread and at `threads`, in ms) and
 * chooses. A probe here came out with every thread nearly as slow as one in about 1 of 16
 * loads (ratio 0.94–0.99 against 0.65–0.83 otherwise), so a result between the margin and
 * one thread's time is probed again and each side keeps its faster figure.
 */
export async function probeOneTokenThreads(threads: number, probe: () => Promise<readonly [number, number]>): Promise<{ oneThreadMs: number; allThreadsMs: number; oneTokenThreads: number }> {
  if (threads <= 1) return { oneThreadMs: NaN, allThreadsMs: NaN, oneTokenThreads: 1 };
  let [one, all] = await probe();
  if (all > one * ONE_TOKEN_MARGIN && all < one) {
    const [one2, all2] = await probe();
    [one, all] = [Math.min(one, one2), Math.min(all, all2)];
  }
  return { oneThreadMs: Math.round(one * 1000) / 1000, allThreadsMs: Math.round(all * 1000) / 1000, oneTokenThreads: oneTokenThreads(threads, [one, all]) };
}
