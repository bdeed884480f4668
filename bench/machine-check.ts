import { Worker } from 'node:worker_threads';

/** Busy-loop units per 2 s window, on each of `threads` threads for `seconds`. */
function spin(threads: number, seconds: number): Promise<number[][]> {
  const code = `
    const { parentPort } = require('node:worker_threads');
    let x = 0, n = 0;
    const t0 = Date.now(), out = [];
    let last = t0;
    while (Date.now() - t0 < ${seconds * 1000}) {
      for (let i = 0; i < 1e6; i++) x += Math.sqrt(i);
      n++;
      const now = Date.now();
      if (now - last >= 2000) { out.push(n); n = 0; last = now; }
    }
    parentPort.postMessage(x > 0 ? out : []); // reading x keeps the loop from being optimised away`;
  return Promise.all(Array.from({ length: threads }, () => new Promise<number[]>((resolve, reject) => new Worker(code, { eval: true }).once('message', resolve).once('error', reject))));
}

/**
 * How fast this machine's cores stay under load, printed before the figures: a VM whose host
 * caps it slows every core once all of them are busy for a few seconds (measured on the
 * 2-core development machine, 2026-12-05: ~440 units per core in the first seconds, ~245 after 4-8 s with both
 * cores busy, ~460 steady with one), which a server plus its load generator always are and an
 * in-process baseline at one thread is not. Ratios are only comparable within one such state.
 */
export async function benchMachine(): Promise<string[]> {
  const one = (await spin(1, 8))[0]!;
  await new Promise((r) => setTimeout(r, 3000));
  const both = await spin(2, 12);
  const fmt = (xs: number[]) => xs.join(' ');
  // Against each thread's fastest window (the first one also holds the worker's start and JIT warm-up).
  const share = both.reduce((sum, w) => sum + w.at(-1)! / Math.max(...w), 0) / both.length;
  return [
    `busy-loop units per core per 2 s: 1 thread busy ${fmt(one)}; both busy ${both.map(fmt).join(' | ')}`,
    `   every core busy, last window: ${(share * 100).toFixed(0)}% of the fastest (100% = no host throttling)`,
  ];
}
