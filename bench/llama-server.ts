/**
 * The LLM anchor: `llama-server` built from the very llama.cpp source node-llama-cpp ships
 * (node_modules/node-llama-cpp/llama/gitRelease.bundle), so inferd races the same engine
 * version. Built once, CPU only, into bench-out/llama-build (cmake and g++ from Debian).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../test/helpers/inferd-process.js';
import { freePort } from '../src/runtimes/process/process-manager.js';

const BUNDLE = join(REPO_ROOT, 'node_modules/node-llama-cpp/llama/gitRelease.bundle');
const BUILD = join(REPO_ROOT, 'bench-out/llama-build');
const BINARY = join(BUILD, 'bin/llama-server');

/** The llama-server binary, building it first when missing; a reason string when it cannot be built here. */
export function llamaServerBinary(): { path: string } | { skipped: string } {
  if (existsSync(BINARY)) return { path: BINARY };
  for (const tool of ['cmake', 'g++', 'git']) {
    if (spawnSync('which', [tool]).status !== 0) return { skipped: `${tool} not installed: no llama-server anchor` };
  }
  if (!existsSync(BUNDLE)) return { skipped: `${BUNDLE} missing: no llama-server anchor` };
  const src = join(REPO_ROOT, 'bench-out/llama-src');
  rmSync(src, { recursive: true, force: true });
  mkdirSync(BUILD, { recursive: true });
  const steps: Array<[string, string[]]> = [
    ['git', ['clone', '--quiet', BUNDLE, src]],
    ['cmake', ['-S', src, '-B', BUILD, '-DCMAKE_BUILD_TYPE=Release', '-DLLAMA_CURL=OFF', '-DLLAMA_OPENSSL=OFF', '-DLLAMA_BUILD_TESTS=OFF', '-DLLAMA_BUILD_EXAMPLES=OFF', '-DGGML_OPENMP=OFF']],
    ['cmake', ['--build', BUILD, '--target', 'llama-server', '-j2']],
  ];
  for (const [cmd, args] of steps) {
    const run = () => spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'], timeout: 3_600_000 });
    let r = run();
    // A fresh build here failed once (its step fetching the web UI without network) and the
    // same command, run again, built the server.
    if (r.status !== 0 && args[0] === '--build') r = run();
    if (r.status !== 0) return { skipped: `${cmd} ${args[0]} failed: ${(r.stderr ?? '').slice(-300)}` };
  }
  return existsSync(BINARY) ? { path: BINARY } : { skipped: 'llama-server not produced by the build' };
}

/** Starts llama-server on the model with `parallel` slots of `ctxPerSlot` tokens; resolves once /health answers 200. */
export async function startLlamaServer(binary: string, model: string, opts: { threads: number; parallel: number; ctxPerSlot: number }): Promise<{ url: string; pid: number; stop(): Promise<void> }> {
  const port = await freePort();
  const child = spawn(binary, [
    '-m', model, '--host', '127.0.0.1', '--port', String(port), '-ngl', '0', '--no-webui',
    '-t', String(opts.threads), '-tb', String(opts.threads), '-np', String(opts.parallel), '-c', String(opts.parallel * opts.ctxPerSlot),
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
  const url = `http://127.0.0.1:${port}`;
  const stop = () => new Promise<void>((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`llama-server exited with ${child.exitCode}: ${stderr}`);
    try {
      if ((await fetch(`${url}/health`)).status === 200) return { url, pid: child.pid!, stop };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  await stop();
  throw new Error(`llama-server did not become healthy: ${stderr}`);
}
