import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { REPO_ROOT } from '../test/helpers/inferd-process.js';

/**
 * Starts a floor server in its own process: bench/bare-server.ts (node:http answering a fixed
 * JSON body of `arg` bytes) or bench/bare-onnx-server.ts (node:http running the ONNX model `arg`;
 * `extra`: its batch size and threads). `nodeArgs` go to node (the profiler's flags); both
 * scripts exit cleanly on SIGTERM, so `stop` resolves once any profile is written.
 */
export async function bareServer(arg: number | string, script = 'bare-server', extra: readonly (number | string)[] = [], nodeArgs: readonly string[] = []): Promise<{ url: string; pid: number; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [...nodeArgs, join(REPO_ROOT, `dist/bench/${script}.js`), String(arg), ...extra.map(String)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const line = await new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once('line', resolve));
  const { port } = JSON.parse(line) as { port: number };
  return {
    url: `http://127.0.0.1:${port}/v2/models/x/infer`,
    pid: child.pid!,
    stop: () => {
      child.kill();
      return exited;
    },
  };
}
