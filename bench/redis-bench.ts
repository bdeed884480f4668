import { execFileSync, spawnSync } from 'node:child_process';
import { TAKE_LUA } from '../src/security/rate-limit.js';
import { hasRedis, startRedis } from '../test/security/redis-server.js';

const REQUESTS = 200_000;

/** `redis-benchmark -q` prints `CMD: N requests per second, p50=...`; the number is what counts. */
function opsPerSecond(port: number, clients: number, pipeline: number, command: string[]): number {
  const out = execFileSync('redis-benchmark', ['-p', String(port), '-c', String(clients), '-n', String(REQUESTS), '-P', String(pipeline), '-r', '100000', '-q', ...command], { encoding: 'utf8' });
  const m = /([\d.]+) requests per second/.exec(out);
  if (!m) throw new Error(`unexpected redis-benchmark output: ${out}`);
  return Number(m[1]);
}

/**
 * What one Redis serves of the commands inferd sends per request (docs/scaling.md): the
 * rate-limit token bucket (one EVALSHA per bucket) and the shared prediction cache (GET,
 * and SET of an encoded answer on a miss), with 50 clients as 50 inferd replicas would be.
 */
export async function benchRedis(): Promise<string[]> {
  if (!hasRedis() || spawnSync('redis-benchmark', ['--version'], { stdio: 'ignore' }).status !== 0) return ['redis-server / redis-benchmark not installed: section skipped'];
  const redis = await startRedis();
  try {
    const sha = execFileSync('redis-cli', ['-p', String(redis.port), 'SCRIPT', 'LOAD', TAKE_LUA], { encoding: 'utf8' }).trim();
    const value = 'x'.repeat(1024);
    const lines = [`one redis-server ${execFileSync('redis-server', ['--version'], { encoding: 'utf8' }).split(' ')[2]}, 50 clients, ${REQUESTS} commands each, keys over 100k buckets/entries`];
    const rl = opsPerSecond(redis.port, 50, 1, ['EVALSHA', sha, '1', 'inferd:rl:key:__rand_int__', '100', '200', '1']);
    const get = opsPerSecond(redis.port, 50, 1, ['GET', 'inferd:pc:ns/m/1/h:__rand_int__']);
    const set = opsPerSecond(redis.port, 50, 1, ['SET', 'inferd:pc:ns/m/1/h:__rand_int__', value, 'PX', '60000']);
    lines.push(`rate-limit take (EVALSHA token bucket)     ${Math.round(rl).toLocaleString('en-US').padStart(9)} ops/s`);
    lines.push(`prediction cache GET                       ${Math.round(get).toLocaleString('en-US').padStart(9)} ops/s`);
    lines.push(`prediction cache SET, 1 KiB value          ${Math.round(set).toLocaleString('en-US').padStart(9)} ops/s`);
    return lines;
  } finally {
    await redis.stop();
  }
}
