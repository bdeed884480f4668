import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { REPO_ROOT } from '../test/helpers/inferd-process.js';

/** Starts bench/bare-server.ts in its own process: the HTTP floor every figure is compared with. */
export async function bareServer(bodySize: number): Promise<{ url: string; stop(): void }> {
  const child = spawn(process.execPath, [join(REPO_ROOT, 'dist/bench/bare-server.js'), String(bodySize)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once('line', resolve));
  const { port } = JSON.parse(line) as { port: number };
  return { url: `http://127.0.0.1:${port}/v2/models/x/infer`, stop: () => child.kill() };
}
