import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export interface Shell {
  run(line: string): Promise<{ code: number | null; stdout: string; stderr: string }>;
  stop(): Promise<void>;
}

/**
 * Runs the docs' shell lines as a user would in one directory: `inferd` / `npx inferd` is
 * the CLI built here, the docs' port 8080 is a free one, and `inferd serve` (started once,
 * from the README's line) also gets a free gRPC port so parallel tests do not collide.
 */
export async function startShell(opts: { cwd: string; cli: string; port: number; serveLine: string }): Promise<Shell> {
  const rewrite = (line: string) =>
    line
      .replace(/^npm ci && /, '')
      .replace(/\b(npx )?inferd /g, `${process.execPath} ${opts.cli} `)
      .replace(/--http-port 8080\b/g, `--http-port ${opts.port}`)
      .replace(/localhost:8080\b/g, `localhost:${opts.port}`);
  const env = { ...process.env, INFERD_SERVER: `http://localhost:${opts.port}` };
  const server: ChildProcess = spawn('bash', ['-c', `exec ${rewrite(opts.serveLine)} --grpc-port 0 --shutdown-drain-seconds 0`], { cwd: opts.cwd, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  server.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
  const stop = () => new Promise<void>((resolve) => {
    if (server.exitCode !== null) return resolve();
    server.once('exit', () => resolve());
    server.kill('SIGTERM');
  });
  const end = Date.now() + 60_000;
  for (;;) {
    if (server.exitCode !== null) throw new Error(`inferd serve exited with ${server.exitCode}: ${stderr}`);
    const ready = await fetch(`http://localhost:${opts.port}/v2/health/ready`).then((r) => r.ok, () => false);
    if (ready && existsSync(join(opts.cwd, '.inferd', 'admin.key'))) break;
    if (Date.now() > end) {
      await stop();
      throw new Error(`inferd serve did not become ready: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    stop,
    run: (line) =>
      new Promise((resolve) => {
        const child = spawn('bash', ['-c', rewrite(line)], { cwd: opts.cwd, env, stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
        let out = '';
        let err = '';
        child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
        child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
        child.on('close', (code) => resolve({ code, stdout: out, stderr: err }));
      }),
  };
}
