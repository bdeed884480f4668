import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { REPO_ROOT } from '../test/helpers/inferd-process.js';

/**
 * Starts a floor server in its own process: bench/bare-server.ts (node:http answering a fixed
 * JSON body of `arg` bytes) or bench/bare-onnx-server.ts (node:http running the ONNX model `arg`;
 * `extra`: its batch size and threads).
 */
export async function bareServer(arg: number | string, script = 'bare-server', extra: readonly (number | string)[] = []): Promise<{ url: string; stop(): void }> {
  const child = spawn(process.execPath, [join(REPO_ROOT, `dist/bench/${script}.js`), String(arg), ...extra.map(String)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once('line', resolve));
  const { port } = JSON.parse(line) as { port: number };
  return { url: `http://127.0.0.1:${port}/v2/models/x/infer`, stop: () => child.kill() };
}
