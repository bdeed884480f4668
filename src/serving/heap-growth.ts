import { setFlagsFromString } from 'node:v8';

/** V8's largest growing factor (×4), which it otherwise picks only while it measures GC as cheap. */
export const SERVING_HEAP_GROWING_PERCENT = 300;

/**
 * Lets the old generation grow ×4 after each full GC in a serving process (main thread and
 * replica workers: V8 flags are per process). ArrayBuffers allocated since the last full GC
 * count against the old generation's limit, and a server allocates megabytes of them per image
 * request (socket chunks, the body, tensors). With V8's dynamic factor the limit could settle
 * just above the live heap: every few MB of request buffers then started another incremental
 * marking, and the main thread marked without pause (bench conv row: a mark-compact every
 * ~90 ms and 101-151 images/s; pinned at ×4: 2-8 in 6 s and 157-184/s). A factor the user
 * gave node (`--heap-growing-percent`) stands.
 */
export function setServingHeapGrowth(execArgv: readonly string[] = process.execArgv): { percent: number; by: 'inferd' | 'user' } {
  const own = execArgv.find((a) => /^--heap[-_]growing[-_]percent=/.test(a));
  if (own) return { percent: Number(own.split('=')[1]), by: 'user' };
  setFlagsFromString(`--heap-growing-percent=${SERVING_HEAP_GROWING_PERCENT}`);
  return { percent: SERVING_HEAP_GROWING_PERCENT, by: 'inferd' };
}
