import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const CLI = join(REPO_ROOT, 'dist/src/cli/main.js');

export interface InferdProcess {
  http: string;
  grpc: string;
  child: ChildProcess;
  /** Structured log lines printed so far. */
  logs: Array<Record<string, unknown>>;
  stop(): Promise<number | null>;
  waitForLog(pred: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
}

/** Starts a real `inferd serve` on free ports and resolves once it listens. */
export async function startInferd(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; dataDir?: string; serverDefaultAuth?: boolean } = {}): Promise<InferdProcess> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'inferd-test-'));
  // Tests run without authentication unless they pass their own --auth (test/e2e/security.test.ts
  // does) or ask for the server's own default.
  const auth = args.includes('--auth') || opts.serverDefaultAuth ? [] : ['--auth', 'none'];
  const child = spawn(process.execPath, [CLI, 'serve', '--http-port', '0', '--grpc-port', '0', '--data-dir', dataDir, ...auth, ...args], {
    cwd: opts.cwd ?? REPO_ROOT,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Array<Record<string, unknown>> = [];
  const waiters: Array<() => void> = [];
  let buffered = '';
  let stderrText = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    stderrText += chunk.toString();
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        logs.push({ msg: line });
      }
      for (const w of waiters.splice(0)) w();
    }
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const waitForLog = (pred: (l: Record<string, unknown>) => boolean, timeoutMs = 20_000) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for log line; stderr:\n${stderrText.slice(-3000)}`)), timeoutMs);
      const check = () => {
        const hit = logs.find(pred);
        if (hit) {
          clearTimeout(timer);
          resolve(hit);
        } else waiters.push(check);
      };
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`inferd exited with ${code}; stderr:\n${stderrText.slice(-3000)}`));
      });
      check();
    });
  const listening = await waitForLog((l) => typeof l.httpPort === 'number');
  return {
    http: `http://127.0.0.1:${listening.httpPort as number}`,
    grpc: `127.0.0.1:${listening.grpcPort as number}`,
    child,
    logs,
    waitForLog,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Polls until the server reports every model ready. */
export async function waitReady(base: string, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const res = await fetch(`${base}/v2/health/ready`).catch(() => undefined);
    if (res?.status === 200) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('server did not become ready');
}

/** Polls an InferenceService until its Ready condition is no longer Unknown. */
export async function waitSettled(base: string, name: string, namespace = 'default', timeoutMs = 20_000): Promise<Record<string, any>> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const res = await fetch(`${base}/apis/serving.kserve.io/v1beta1/namespaces/${namespace}/inferenceservices/${name}`);
    if (res.ok) {
      const isvc = (await res.json()) as Record<string, any>;
      const ready = isvc.status?.conditions?.find((c: { type: string }) => c.type === 'PredictorReady');
      if (ready && ready.status !== 'Unknown') return isvc;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`InferenceService ${name} did not settle`);
}
