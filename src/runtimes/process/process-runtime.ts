import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { InferdError } from '../../api/errors.js';
import { isDatatype } from '../../api/datatype.js';
import type { Tensor, TensorSpec } from '../../api/inference.js';
import type { Container } from '../../api/resources/common.js';
import { flatten, fromValues, toValues } from '../../protocols/tensor-values.js';
import type { LoadContext, LoadedModel } from '../types.js';
import { modelDirOf } from './command.js';
import { LogBuffer } from './log-buffer.js';
import { ManagedProcess, ProcessStartError, type Probe } from './process-manager.js';
import { emitProcessEvent, registerProcess } from './registry.js';
import { errorCode, requestOnce, requestProcess, type UpstreamResponse } from './upstream.js';
import { completeTexts, upstreamError } from './text-completions.js';

/** `"true"` on a ServingRuntime: run its container's command even for a format inferd serves in-process. */
export const PROCESS_ANNOTATION = 'inferd.dev/external-process';
/** Seconds the process has to become ready (default 300). */
export const STARTUP_TIMEOUT_ANNOTATION = 'inferd.dev/startup-timeout-seconds';
/** Seconds between SIGTERM and SIGKILL on unload (default 10). */
export const GRACE_ANNOTATION = 'inferd.dev/termination-grace-seconds';

const DEFAULT_STARTUP_S = 300;
const DEFAULT_GRACE_S = 10;

export interface ProcessRuntimeOptions {
  namespace: string;
  /** The ServingRuntime's `kserve-container` (or first container). */
  container: Container;
  /** The ServingRuntime's annotations (timeouts). */
  annotations: Record<string, string>;
  /** Where the ServingRuntime's manifest lives: the working directory unless `workingDir` exists locally. */
  baseDir: string;
  /** inferd's data directory: logs go to `<dataDir>/logs/<namespace>/<name>/`. */
  dataDir: string;
  /**
   * `openai`: the process is an OpenAI-compatible LLM server (vLLM) with no V1/V2 API of
   * its own: V1/V2 `text_input` goes through its completions API, the OpenAI routes
   * forward to it. Default: it speaks V2/V1 itself and every protocol is forwarded.
   */
  speaks?: 'openai';
}

/** A failed start, with a KServe-style `lastFailureInfo.reason`. */
export class ProcessLoadError extends Error {
  constructor(readonly reason: string, message: string) {
    super(message);
  }
}

function seconds(value: string | undefined, fallback: number, what: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new ProcessLoadError('InvalidRuntimeAnnotation', `${what} must be a positive number of seconds, got ${JSON.stringify(value)}`);
  return n;
}

/** A container's readinessProbe (httpGet.path or tcpSocket), else inferd's order. */
function probeOf(container: Container): Probe {
  const rp = container.readinessProbe as { httpGet?: { path?: unknown }; tcpSocket?: unknown } | undefined;
  if (rp?.httpGet && typeof rp.httpGet.path === 'string') return { kind: 'http', path: rp.httpGet.path };
  if (rp?.tcpSocket) return { kind: 'tcp' };
  return { kind: 'auto' };
}

function revisionOf(ctx: LoadContext): string | undefined {
  const bindings = (ctx.log as { bindings?: () => Record<string, unknown> }).bindings?.();
  const rev = bindings?.revision;
  return typeof rev === 'number' || typeof rev === 'string' ? String(rev) : undefined;
}

function checkSpecs(raw: unknown): TensorSpec[] | undefined {
  if (!Array.isArray(raw)) return undefined;
  const specs: TensorSpec[] = [];
  for (const s of raw as Array<Record<string, unknown>>) {
    if (typeof s?.name !== 'string' || !isDatatype(s.datatype) || !Array.isArray(s.shape) || !s.shape.every((d) => Number.isInteger(d))) return undefined;
    specs.push({ name: s.name, datatype: s.datatype, shape: s.shape as number[] });
  }
  return specs;
}

/**
 * Runs a ServingRuntime container's `command` + `args` as a local process and serves
 * the model through it: HTTP routes forward to `proxy.baseUrl`; `infer()` (gRPC)
 * sends a V2 JSON request. The signature is the process's V2 metadata when it has
 * one, else empty (the process validates its own inputs).
 */
export async function loadProcessModel(ctx: LoadContext, opts: ProcessRuntimeOptions): Promise<LoadedModel> {
  const command = opts.container.command ?? [];
  if (command.length === 0) throw new ProcessLoadError('RuntimeNotRecognized', 'the runtime container has no command to run');
  const startupS = seconds(opts.annotations[STARTUP_TIMEOUT_ANNOTATION], DEFAULT_STARTUP_S, STARTUP_TIMEOUT_ANNOTATION);
  const graceS = seconds(opts.annotations[GRACE_ANNOTATION], DEFAULT_GRACE_S, GRACE_ANNOTATION);
  const revision = revisionOf(ctx);
  const logs = new LogBuffer({ maxLines: 1000, file: join(opts.dataDir, 'logs', opts.namespace, ctx.name, `revision-${revision ?? 'unknown'}.log`) });
  const workingDir = opts.container.workingDir === undefined ? undefined : resolve(opts.baseDir, opts.container.workingDir);
  if (workingDir !== undefined && !existsSync(workingDir)) logs.note(`workingDir ${opts.container.workingDir} does not exist here; running in ${opts.baseDir}`);
  const cwd = workingDir !== undefined && existsSync(workingDir) ? workingDir : opts.baseDir;
  if (opts.container.image) logs.note(`image ${opts.container.image} recorded; no container engine is used, the command runs on this machine`);
  const proc = new ManagedProcess({
    name: ctx.name,
    template: { argv: [...command, ...ctx.args], env: ctx.env },
    modelDir: modelDirOf(ctx.path),
    cwd,
    ...(opts.container.image ? { image: opts.container.image } : {}),
    logs,
    log: ctx.log,
    probe: probeOf(opts.container),
    startupTimeoutMs: startupS * 1000,
    graceMs: graceS * 1000,
    onEvent: (type, reason, message) =>
      emitProcessEvent({ namespace: opts.namespace, name: ctx.name, ...(revision !== undefined ? { revision } : {}), type, reason, message: `revision ${revision ?? '?'}: ${message}` }),
  });
  const unregister = registerProcess({ namespace: opts.namespace, name: ctx.name, ...(revision !== undefined ? { revision } : {}), process: proc, logs });
  // A delete while the process starts stops it now, not once it is ready (or its startup timeout).
  const abandon = () => void proc.stop();
  ctx.signal?.addEventListener('abort', abandon, { once: true });
  try {
    if (ctx.signal?.aborted) throw new ProcessStartError('Stopped', 'the revision was removed before its process started');
    await proc.start();
  } catch (err) {
    await proc.stop();
    unregister();
    logs.close();
    if (err instanceof ProcessStartError) throw new ProcessLoadError(err.reason, err.message);
    throw err;
  } finally {
    ctx.signal?.removeEventListener('abort', abandon);
  }
  const meta = opts.speaks === 'openai' ? TEXT_SIGNATURE : await fetchMetadata(proc.baseUrl, ctx.name);
  return new ProcessModel(ctx.name, proc, meta, opts.speaks === 'openai', async () => {
    await proc.stop();
    unregister();
    logs.close();
  });
}

async function fetchMetadata(baseUrl: string, name: string): Promise<{ platform: string; inputs: TensorSpec[]; outputs: TensorSpec[] }> {
  const none = { platform: 'external-process', inputs: [], outputs: [] };
  try {
    const res = await requestOnce(baseUrl, { method: 'GET', path: `/v2/models/${encodeURIComponent(name)}`, signal: AbortSignal.timeout(3000) });
    if (res.status !== 200) return none;
    const body = JSON.parse(res.body.toString('utf8')) as Record<string, unknown>;
    const inputs = checkSpecs(body.inputs);
    const outputs = checkSpecs(body.outputs);
    if (!inputs || !outputs) return none;
    return { platform: typeof body.platform === 'string' && body.platform ? body.platform : none.platform, inputs, outputs };
  } catch {
    return none;
  }
}

/** How long `infer()` waits for a restarting process before answering not ready. */
const RESTART_WAIT_MS = 15_000;
/** How long an unload waits for forwarded requests before stopping the process anyway. */
const DRAIN_MS = 30_000;

/** `LoadedModel.proxy` of a process-backed model; `hold` is optional for forwarders (see protocols/http/proxy.ts). */
export interface ProcessProxy {
  baseUrl: string;
  hold?: () => () => void;
}

/** What an OpenAI-only server (vLLM) offers V1/V2 clients, as KServe's Hugging Face server does. */
const TEXT_SIGNATURE = {
  platform: 'vllm',
  inputs: [{ name: 'text_input', datatype: 'BYTES' as const, shape: [-1] }],
  outputs: [{ name: 'text_output', datatype: 'BYTES' as const, shape: [-1] }],
};

class ProcessModel implements LoadedModel {
  readonly platform: string;
  readonly inputs: TensorSpec[];
  readonly outputs: TensorSpec[];

  constructor(
    private readonly name: string,
    readonly process: ManagedProcess,
    meta: { platform: string; inputs: TensorSpec[]; outputs: TensorSpec[] },
    private readonly openaiOnly: boolean,
    private readonly stop: () => Promise<void>,
  ) {
    this.platform = meta.platform;
    this.inputs = meta.inputs;
    this.outputs = meta.outputs;
  }

  private forwarding = 0;
  private drained?: () => void;

  /**
   * Read per request: a restart after a failed start may move the process to another port.
   * `hold()` counts a forwarded request until its release, so an unload lets it finish.
   */
  get proxy(): ProcessProxy | undefined {
    return this.openaiOnly ? undefined : this.openaiProxy;
  }

  get openaiProxy(): ProcessProxy {
    return {
      baseUrl: this.process.baseUrl,
      hold: () => {
        this.forwarding++;
        let released = false;
        return () => {
          if (released) return;
          released = true;
          if (--this.forwarding === 0) this.drained?.();
        };
      },
    };
  }

  healthy(): boolean {
    return this.process.available;
  }

  async infer(inputs: Tensor[], outputNames: string[]): Promise<Tensor[]> {
    if (this.openaiOnly) return completeTexts(inputs, (body) => this.request('/v1/completions', body), this.name);
    const body = JSON.stringify({
      inputs: inputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape, data: toValues(t), ...(t.parameters ? { parameters: t.parameters } : {}) })),
      ...(outputNames.length ? { outputs: outputNames.map((name) => ({ name })) } : {}),
    });
    const res = await this.request(`/v2/models/${encodeURIComponent(this.name)}/infer`, body);
    const text = res.body.toString('utf8');
    let parsed: Record<string, unknown> = {};
    try {
      parsed = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // handled below
    }
    if (res.status < 200 || res.status >= 300) throw upstreamError(res.status, typeof parsed.error === 'string' ? parsed.error : text.slice(0, 500));
    if (!Array.isArray(parsed.outputs)) throw new InferdError('internal', `model server process answered without "outputs": ${text.slice(0, 200)}`);
    return (parsed.outputs as Array<Record<string, unknown>>).map((o, i) => {
      const field = `outputs[${i}]`;
      if (typeof o.name !== 'string' || !isDatatype(o.datatype) || !Array.isArray(o.shape)) throw new InferdError('internal', `model server process: ${field} is not a V2 tensor`);
      const shape = o.shape as number[];
      return { name: o.name, datatype: o.datatype, shape, data: fromValues(o.datatype, flatten(o.data, Math.max(1, shape.length), field), field) };
    });
  }

  /** A JSON POST to the process, waiting a while for one that restarts. */
  private async request(path: string, body: string): Promise<UpstreamResponse> {
    try {
      return await requestProcess(() => this.process.baseUrl, { method: 'POST', path, headers: { 'content-type': 'application/json' }, body: Buffer.from(body) }, Date.now() + RESTART_WAIT_MS);
    } catch (err) {
      throw new InferdError('not_ready', `the model server process of ${this.name} is not reachable or dropped the request (${errorCode(err)}); it may be restarting`, { retryAfter: 1 });
    }
  }

  memoryBytes(): number {
    return this.process.memoryBytes();
  }

  /** Lets forwarded requests finish (bounded), then stops the process. */
  async unload(): Promise<void> {
    if (this.forwarding > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, DRAIN_MS);
        this.drained = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    await this.stop();
  }
}
