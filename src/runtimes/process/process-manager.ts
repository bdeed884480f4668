import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import type { Logger } from '../../observability/logger.js';
import { describeCommand, inheritedEnv, materialize, type CommandTemplate, type Ports } from './command.js';
import { nonLoopbackListeners } from './listen-check.js';
import type { LogBuffer } from './log-buffer.js';
import { requestOnce } from './upstream.js';

export type ProcessState = 'Starting' | 'Running' | 'BackOff' | 'Stopping' | 'Stopped';

/** Why a process event was recorded (the InferenceService event's reason). */
export type ProcessEventReason = 'ProcessCrashed' | 'ProcessUnhealthy' | 'ProcessRestarted' | 'ProcessRestartFailed';

export interface ExitInfo {
  code: number | null;
  signal: string | null;
  time: string;
  /** How long that run lasted. */
  uptimeMs: number;
}

/** What `inferd logs` and status show about one managed process. */
export interface ProcessStatus {
  state: ProcessState;
  command: string;
  image?: string;
  pid?: number;
  port: number;
  /** Starts after the first one (crash restarts and failed restart attempts). */
  restarts: number;
  lastExit?: ExitInfo;
  /** When the current run became ready. */
  readySince?: string;
  /** While in BackOff: when the next start is due. */
  nextRestartAt?: string;
}

/** How readiness is checked: a declared probe, or inferd's order V2 → V1 → TCP. */
export type Probe = { kind: 'http'; path: string } | { kind: 'tcp' } | { kind: 'auto' };

export interface ProcessOptions {
  /** The served model name, for `GET /v1/models/{name}`. */
  name: string;
  template: CommandTemplate;
  modelDir: string;
  cwd: string;
  image?: string;
  logs: LogBuffer;
  log: Logger;
  probe: Probe;
  /** The process must be ready this long after it is spawned. */
  startupTimeoutMs: number;
  /** SIGTERM, then SIGKILL after this long. */
  graceMs: number;
  /** Crashes, failed health checks and restarts, for status events. */
  onEvent?: (type: 'Normal' | 'Warning', reason: ProcessEventReason, message: string) => void;
  /**
   * While it runs, the readiness probe is asked every periodMs: two failures in a row make
   * the model not ready (one slow answer under load does not turn traffic away),
   * failureThreshold in a row kill the process (and so restart it), as a Kubernetes
   * liveness probe would.
   */
  health?: { periodMs: number; failureThreshold: number };
  /** Restart back-off: initial delay, doubling per consecutive crash up to max; reset after a run of resetAfterMs. */
  backoff?: { initialMs: number; maxMs: number; resetAfterMs: number };
}

/** Why a start failed: the command, the cause and the last lines of stderr. */
export class ProcessStartError extends Error {
  constructor(readonly reason: string, message: string) {
    super(message);
  }
}

const MIB = 1024 * 1024;
/** Failed health checks in a row after which the model is not ready. */
const NOT_READY_AFTER = 2;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A free loopback TCP port (the OS picks; closed again before the child binds it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

function tcpOpen(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

/** Status code of a GET, or undefined when the answer was not HTTP or did not come. */
async function httpGet(base: string, path: string): Promise<{ status: number; body: string } | undefined> {
  try {
    const res = await requestOnce(base, { method: 'GET', path, signal: AbortSignal.timeout(2000) });
    return { status: res.status, body: res.body.toString('utf8') };
  } catch {
    return undefined;
  }
}

/** RSS of a process and its descendants, from /proc (0 where /proc is not there). */
export function rssBytes(pid: number | undefined): number {
  if (pid === undefined) return 0;
  let total = 0;
  const seen = new Set<number>();
  const walk = (p: number, depth: number) => {
    if (seen.has(p) || depth > 8) return;
    seen.add(p);
    try {
      const m = /VmRSS:\s+(\d+)\s*kB/.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
      if (m) total += Number(m[1]) * 1024;
      const children = readFileSync(`/proc/${p}/task/${p}/children`, 'utf8').trim();
      for (const c of children ? children.split(/\s+/) : []) walk(Number(c), depth + 1);
    } catch {
      // gone, or no /proc
    }
  };
  walk(pid, 0);
  return total;
}

/** Every child inferd runs, so an exiting inferd does not leave them behind. */
const running = new Set<ChildProcess>();
let exitHookInstalled = false;
function track(child: ChildProcess): void {
  running.add(child);
  child.once('exit', () => running.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const c of running) signalGroup(c, 'SIGKILL');
    });
  }
}

/** Signals the child's process group (it leads one), so `sh -c` wrappers take their children along. */
function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

interface Run {
  child: ChildProcess;
  started: number;
  exited: Promise<ExitInfo>;
  exit?: ExitInfo;
  spawnError?: Error;
}

/**
 * One external model-server process: spawn on a free loopback port, wait for
 * readiness, capture output, restart with exponential back-off when it dies, stop
 * with SIGTERM then SIGKILL.
 */
export class ManagedProcess {
  state: ProcessState = 'Starting';
  restarts = 0;
  lastExit?: ExitInfo;
  private ports: Ports = { http: 0, grpc: 0 };
  private run?: Run;
  private readySince?: number;
  private consecutive = 0;
  private restartTimer?: NodeJS.Timeout;
  private nextRestartAt?: number;
  private stopping = false;
  private detected?: 'v2' | 'v1' | 'tcp';
  private lastArgv: string[] = [];
  private healthTimer?: NodeJS.Timeout;
  private readyBytes = 0;
  /** Failed health checks in a row of the running process. */
  private healthFailures = 0;

  constructor(private readonly opts: ProcessOptions) {}

  get port(): number {
    return this.ports.http;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.ports.http}`;
  }

  get pid(): number | undefined {
    return this.run && !this.run.exit ? this.run.child.pid : undefined;
  }

  get command(): string {
    return describeCommand(this.lastArgv.length ? this.lastArgv : this.opts.template.argv);
  }

  status(): ProcessStatus {
    const s: ProcessStatus = { state: this.state, command: this.command, port: this.ports.http, restarts: this.restarts };
    if (this.opts.image !== undefined) s.image = this.opts.image;
    const pid = this.pid;
    if (pid !== undefined) s.pid = pid;
    if (this.lastExit) s.lastExit = this.lastExit;
    if (this.readySince !== undefined && this.state === 'Running') s.readySince = new Date(this.readySince).toISOString();
    if (this.nextRestartAt !== undefined && this.state === 'BackOff') s.nextRestartAt = new Date(this.nextRestartAt).toISOString();
    return s;
  }

  /**
   * The process tree's RSS when it last became ready, rounded up to a MiB: fixed for the life
   * of the run, so the memory budget's decisions do not move with every sample (a process's
   * RSS grows and shrinks as it serves), and the same from run to run in practice.
   */
  memoryBytes(): number {
    return this.readyBytes;
  }

  /** Running and passing its health checks: the model it serves is ready. */
  get available(): boolean {
    return this.state === 'Running' && this.healthFailures < NOT_READY_AFTER;
  }

  /** The first start: resolves once ready; rejects (with the process stopped) when it cannot be. */
  async start(): Promise<void> {
    this.ports = { http: await freePort(), grpc: await freePort() };
    await this.startOnce();
  }

  private async startOnce(): Promise<void> {
    this.state = 'Starting';
    const run = this.spawn();
    this.run = run;
    try {
      await this.waitReady(run);
      this.assertLoopback(run);
    } catch (err) {
      if (!run.exit) {
        signalGroup(run.child, 'SIGKILL');
        await Promise.race([run.exited, sleep(5000)]);
      }
      throw err;
    }
    if (this.stopping) return;
    this.state = 'Running';
    this.readySince = Date.now();
    this.readyBytes = Math.ceil(rssBytes(run.child.pid) / MIB) * MIB;
    this.opts.logs.note(`ready on port ${this.ports.http} (pid ${run.child.pid})`);
    this.watchHealth(run);
    void run.exited.then((exit) => this.onExit(run, exit));
  }

  private watchHealth(run: Run): void {
    const health = this.opts.health ?? { periodMs: 5000, failureThreshold: 3 };
    this.healthFailures = 0;
    let checking = false;
    this.healthTimer = setInterval(() => {
      if (checking || this.run !== run || run.exit || this.state !== 'Running') return;
      checking = true;
      void this.probeOnce().then((ok) => {
        checking = false;
        if (this.run !== run || run.exit || this.stopping) return;
        if (ok) {
          if (this.healthFailures > 0) this.opts.logs.note('health check passes again');
          this.healthFailures = 0;
          return;
        }
        this.healthFailures++;
        this.opts.logs.note(`health check failed (${this.probeText()}), ${this.healthFailures} of ${health.failureThreshold}`);
        if (this.healthFailures < health.failureThreshold) return;
        this.opts.log.warn({ pid: run.child.pid, failures: this.healthFailures }, 'external process unhealthy; killing it to restart');
        this.opts.onEvent?.('Warning', 'ProcessUnhealthy', `external process pid ${run.child.pid} failed ${this.healthFailures} health checks in a row (${this.probeText()}): killed, to be restarted`);
        signalGroup(run.child, 'SIGKILL');
      });
    }, health.periodMs);
    this.healthTimer.unref();
  }

  private spawn(): Run {
    const { argv, env } = materialize(this.opts.template, this.opts.modelDir, this.ports);
    this.lastArgv = argv;
    const [file, ...args] = argv as [string, ...string[]];
    const logs = this.opts.logs;
    const child = spawn(file, args, {
      cwd: this.opts.cwd,
      env: { ...inheritedEnv(), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group, signalled as a whole
    });
    const run: Run = { child, started: Date.now(), exited: Promise.resolve(undefined as unknown as ExitInfo) };
    run.exited = new Promise<ExitInfo>((resolve) => {
      const finish = (code: number | null, signal: string | null) => {
        if (run.exit) return;
        run.exit = { code, signal, time: new Date().toISOString(), uptimeMs: Date.now() - run.started };
        logs.flush();
        resolve(run.exit);
      };
      child.once('exit', finish);
      child.once('error', (err) => {
        run.spawnError = err;
        if (child.pid === undefined) finish(null, null);
      });
    });
    child.stdout!.on('data', (c: Buffer) => logs.write('stdout', c));
    child.stderr!.on('data', (c: Buffer) => logs.write('stderr', c));
    track(child);
    logs.note(`started pid ${child.pid ?? '?'}: ${describeCommand(argv)} (port ${this.ports.http})`);
    this.opts.log.info({ pid: child.pid, port: this.ports.http, command: describeCommand(argv) }, 'external process started');
    return run;
  }

  /** Polls readiness until ready, the child exits, the startup timeout or a stop. */
  private async waitReady(run: Run): Promise<void> {
    const deadline = run.started + this.opts.startupTimeoutMs;
    let delay = 50;
    for (;;) {
      if (this.stopping) throw new ProcessStartError('Stopped', `external process ${this.command} was stopped before it was ready`);
      if (run.exit) throw this.startError(run, run.exit);
      if (await this.probeOnce()) return;
      if (run.exit) throw this.startError(run, run.exit);
      if (Date.now() >= deadline) {
        throw new ProcessStartError(
          'ProcessStartupTimeout',
          `external process ${this.command} did not become ready on 127.0.0.1:${this.ports.http} within ${Math.round(this.opts.startupTimeoutMs / 1000)} s (${this.probeText()})${this.stderrTail()}`,
        );
      }
      await Promise.race([sleep(Math.min(delay, Math.max(0, deadline - Date.now()))), run.exited]);
      delay = Math.min(delay * 2, 500);
    }
  }

  /** A process listening beyond loopback would serve without inferd's authentication: it does not start. */
  private assertLoopback(run: Run): void {
    const open = nonLoopbackListeners(run.child.pid);
    if (open.length === 0) return;
    throw new ProcessStartError(
      'ListensBeyondLoopback',
      `external process ${this.command} listens on ${open.slice(0, 3).join(', ')}: it must listen on 127.0.0.1 only (it gets HOST=127.0.0.1 and its --host flags rewritten; a shell string must pass them on)`,
    );
  }

  private probeText(): string {
    const p = this.opts.probe;
    if (p.kind === 'http') return `probe: GET ${p.path}`;
    if (p.kind === 'tcp') return 'probe: TCP connect';
    return `probe: GET /v2/health/ready, else GET /v1/models/${this.opts.name}, else TCP connect`;
  }

  private startError(run: Run, exit: ExitInfo): ProcessStartError {
    if (run.spawnError && run.child.pid === undefined) {
      const code = (run.spawnError as NodeJS.ErrnoException).code;
      const hint = code === 'ENOENT' ? ` (is "${this.lastArgv[0]}" installed and on PATH, and does ${this.opts.cwd} exist?)` : '';
      return new ProcessStartError('ProcessStartFailed', `cannot start external process ${this.command}: ${run.spawnError.message}${hint}`);
    }
    const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
    return new ProcessStartError('ProcessExited', `external process ${this.command} ${how} before it was ready${this.stderrTail()}`);
  }

  private stderrTail(lines = 15): string {
    const tail = this.opts.logs.tail(lines, 'stderr');
    const out = tail.length ? tail : this.opts.logs.tail(lines, 'stdout');
    if (!out.length) return '; it printed nothing';
    return `; last ${tail.length ? 'stderr' : 'stdout'} lines:\n${out.map((l) => `  ${l.text}`).join('\n')}`;
  }

  private async probeOnce(): Promise<boolean> {
    const p = this.opts.probe;
    const base = this.baseUrl;
    if (p.kind === 'http') {
      const res = await httpGet(base, `${p.path.startsWith('/') ? '' : '/'}${p.path}`);
      return res !== undefined && res.status >= 200 && res.status < 400;
    }
    if (!(await tcpOpen(this.ports.http))) return false;
    if (p.kind === 'tcp' || this.detected === 'tcp') return true;
    if (this.detected !== 'v1') {
      const v2 = await httpGet(base, '/v2/health/ready');
      if (v2 === undefined) return this.detect('tcp');
      if (v2.status === 200) return this.detect('v2');
      if (![404, 405, 501].includes(v2.status)) {
        this.detected = 'v2'; // speaks V2, not ready yet
        return false;
      }
    }
    const v1 = await httpGet(base, `/v1/models/${encodeURIComponent(this.opts.name)}`);
    if (v1 === undefined || v1.status === 404 || v1.status === 405) return this.detect('tcp');
    if (v1.status !== 200) return false;
    try {
      if ((JSON.parse(v1.body) as { ready?: unknown }).ready === false) return false;
    } catch {
      // not JSON: 200 is enough
    }
    return this.detect('v1');
  }

  private detect(kind: 'v2' | 'v1' | 'tcp'): true {
    this.detected = kind;
    return true;
  }

  private onExit(run: Run, exit: ExitInfo): void {
    if (this.run !== run) return;
    clearInterval(this.healthTimer);
    this.lastExit = exit;
    this.opts.logs.note(`pid ${run.child.pid} ${exit.signal ? `killed by ${exit.signal}` : `exited with code ${exit.code}`} after ${Math.round(exit.uptimeMs / 1000)} s`);
    if (this.stopping) return;
    const backoff = this.opts.backoff ?? { initialMs: 500, maxMs: 30_000, resetAfterMs: 60_000 };
    if (exit.uptimeMs >= backoff.resetAfterMs) this.consecutive = 0;
    this.opts.log.warn({ pid: run.child.pid, exit }, 'external process died; restarting');
    const delay = this.scheduleRestart();
    const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
    this.opts.onEvent?.('Warning', 'ProcessCrashed', `external process pid ${run.child.pid} ${how} after ${Math.round(exit.uptimeMs / 1000)} s; restart ${this.restarts + 1} in ${delay} ms${this.stderrTail(5)}`);
  }

  private scheduleRestart(): number {
    const backoff = this.opts.backoff ?? { initialMs: 500, maxMs: 30_000, resetAfterMs: 60_000 };
    const delay = Math.min(backoff.initialMs * 2 ** this.consecutive, backoff.maxMs);
    this.consecutive++;
    this.state = 'BackOff';
    this.nextRestartAt = Date.now() + delay;
    this.opts.logs.note(`restarting in ${delay} ms (restart ${this.restarts + 1})`);
    this.restartTimer = setTimeout(() => void this.restart(), delay);
    return delay;
  }

  private async restart(): Promise<void> {
    delete this.restartTimer;
    if (this.stopping) return;
    this.restarts++;
    try {
      await this.startOnce();
      if (!this.stopping) this.opts.onEvent?.('Normal', 'ProcessRestarted', `external process ready again on port ${this.ports.http} (pid ${this.pid}, restarts ${this.restarts})`);
    } catch (err) {
      if (this.stopping) return;
      this.lastExit = this.run?.exit ?? this.lastExit;
      this.opts.logs.note(`restart failed: ${(err as Error).message.split('\n')[0]}`);
      this.opts.log.error({ err: (err as Error).message }, 'external process restart failed');
      // The port may be taken by now: the next try gets a fresh one.
      this.ports = { http: await freePort(), grpc: await freePort() };
      if (this.stopping) return;
      const delay = this.scheduleRestart();
      this.opts.onEvent?.('Warning', 'ProcessRestartFailed', `${(err as Error).message.split('\n')[0]}; next try in ${delay} ms`);
    }
  }

  /** SIGTERM to the process group, SIGKILL after the grace period; no restarts after. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.healthTimer);
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const run = this.run;
    if (!run || run.exit) {
      this.state = 'Stopped';
      return;
    }
    this.state = 'Stopping';
    this.opts.logs.note(`stopping pid ${run.child.pid} (SIGTERM, SIGKILL after ${Math.round(this.opts.graceMs / 1000)} s)`);
    signalGroup(run.child, 'SIGTERM');
    const gone = await Promise.race([run.exited.then(() => true), sleep(this.opts.graceMs).then(() => false)]);
    if (!gone) {
      this.opts.logs.note(`pid ${run.child.pid} still running after the grace period: SIGKILL`);
      signalGroup(run.child, 'SIGKILL');
      await Promise.race([run.exited, sleep(5000)]);
    } else {
      // The leader is gone; take any stragglers in its group along.
      signalGroup(run.child, 'SIGKILL');
    }
    this.state = 'Stopped';
  }
}
