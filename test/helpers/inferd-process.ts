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

/** Log lines of the servers started here, by HTTP base URL: `waitReady` follows model loads in them. */
const serverLogs = new Map<string, Array<Record<string, unknown>>>();

/** Starts a real `inferd serve` on free ports and resolves once it listens. */
export async function startInferd(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; dataDir?: string; serverDefaultAuth?: boolean; nodeArgs?: readonly string[] } = {}): Promise<InferdProcess> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'inferd-test-'));
  // Tests run without authentication unless they pass their own --auth (test/e2e/security.test.ts
  // does) or ask for the server's own default.
  const auth = args.includes('--auth') || opts.serverDefaultAuth ? [] : ['--auth', 'none'];
  // Nothing balances load in front of a test server: no drain window after SIGTERM (so every
  // stop does not wait it out) unless the test asks for one (test/e2e/shutdown*.test.ts).
  const drain = args.includes('--shutdown-drain-seconds') ? [] : ['--shutdown-drain-seconds', '0'];
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), CLI, 'serve', '--http-port', '0', '--grpc-port', '0', '--data-dir', dataDir, ...auth, ...drain, ...args], {
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
  const http = `http://127.0.0.1:${listening.httpPort as number}`;
  serverLogs.set(http, logs);
  return {
    http,
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

/**
 * Polls until the server is ready, then until every model it started loading has loaded its
 * latest revision (as read from its log: no credentials, so no rate-limit bucket is touched).
 * Server readiness alone no longer waits for models (KServe's meaning, unless
 * `serving.strictReadiness`); the startup pass is done once it is 200, so every stored model
 * has logged its load by then. A model that fails to load ends the wait with its error.
 */
export async function waitReady(base: string, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const res = await fetch(`${base}/v2/health/ready`).catch(() => undefined);
    if (res?.status === 200) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  if (Date.now() >= end) throw new Error('server did not become ready');
  const logs = serverLogs.get(base);
  if (!logs) return;
  for (;;) {
    // Per model: revisions started, loaded, failed. Traffic needs one loaded revision (what server
    // readiness used to wait for); a model whose every started revision failed will never have one.
    const models = new Map<string, { started: Set<unknown>; loaded: Set<unknown>; failed: Map<unknown, string> }>();
    for (const l of logs) {
      if (typeof l.model !== 'string' || l.revision === undefined || typeof l.msg !== 'string') continue;
      const k = `${String(l.namespace)}/${l.model}`;
      const m = models.get(k) ?? { started: new Set(), loaded: new Set(), failed: new Map() };
      models.set(k, m);
      if (l.msg === 'loading model') m.started.add(l.revision);
      else if (l.msg.startsWith('model loaded')) m.loaded.add(l.revision);
      else if (l.msg.startsWith('model failed to load')) m.failed.set(l.revision, l.msg);
    }
    const waiting: string[] = [];
    for (const [k, m] of models) {
      if (m.started.size === 0 || m.loaded.size > 0) continue;
      if ([...m.started].every((r) => m.failed.has(r))) throw new Error(`model ${k}: ${[...m.failed.values()].join('; ')}`);
      waiting.push(k);
    }
    if (waiting.length === 0) return;
    if (Date.now() >= end) throw new Error(`server ready but models not loaded: ${waiting.join(', ')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Polls until each named model (`name` or `namespace/name`) answers 200 on `/v2/models/{m}/ready`. */
export async function waitModelsReady(base: string, names: string[], timeoutMs = 20_000, headers: Record<string, string> = {}): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (const model of names) {
    const [ns, name] = model.includes('/') ? (model.split('/', 2) as [string, string]) : ['default', model];
    for (;;) {
      const res = await fetch(`${base}/v2/models/${encodeURIComponent(name)}/ready`, { headers: { ...headers, 'inferd-namespace': ns } }).catch(() => undefined);
      if (res?.status === 200) break;
      if (Date.now() >= end) throw new Error(`model ${model} did not become ready (last status ${res?.status ?? 'no answer'})`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
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
