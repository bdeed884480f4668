import autocannon from 'autocannon';
import { percentiles, type Figures } from './stats.js';

export interface LoadOptions {
  url: string;
  body: string | Buffer;
  connections: number;
  seconds: number;
  headers?: Record<string, string>;
  /** Non-2xx answers are expected (overload tests) rather than a failed run. */
  allowErrors?: boolean;
}

/**
 * Drives a closed-loop load with autocannon and computes latency percentiles from
 * each response's own duration (autocannon's histogram rounds to whole ms).
 */
export function load(opts: LoadOptions): Promise<Figures & { non2xx: number; total: number }> {
  return new Promise((resolve, reject) => {
    const lat: number[] = [];
    const instance = autocannon(
      { url: opts.url, method: 'POST', body: opts.body, headers: { 'content-type': 'application/json', ...opts.headers }, connections: opts.connections, duration: opts.seconds },
      (err, result) => {
        if (err) return reject(err);
        if (!opts.allowErrors && (result.non2xx || result.errors)) return reject(new Error(`load on ${opts.url} saw ${result.non2xx} non-2xx and ${result.errors} errors`));
        resolve({ rps: result.requests.average, ...percentiles(lat), non2xx: result.non2xx, total: result.requests.total });
      },
    );
    instance.on('response', (_client: unknown, _status: number, _bytes: number, ms: number) => lat.push(ms));
  });
}

/** One second of the same load first (JIT, connections, caches), then `seconds` of it measured. */
export async function warmedLoad(opts: Omit<LoadOptions, 'seconds'>, seconds: number): Promise<Awaited<ReturnType<typeof load>>> {
  await warmUp(opts);
  return load({ ...opts, seconds });
}

/** The second of load that precedes a measured one. */
export async function warmUp(opts: Omit<LoadOptions, 'seconds'>): Promise<void> {
  await load({ ...opts, seconds: 1 });
}
