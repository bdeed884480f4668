import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';
import { invalidInput } from '../../api/errors.js';
import type { Tensor, TensorSpec } from '../../api/inference.js';
import { inheritedEnv, LOOPBACK } from '../process/command.js';
import { nonLoopbackListeners } from '../process/listen-check.js';
import type { LoadContext, LoadedModel, Runtime } from '../types.js';

/** How long vLLM may take to load before the load fails (big models download and compile). */
const START_TIMEOUT_MS = 15 * 60_000;
const STOP_GRACE_MS = 10_000;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function onPath(cmd: string, path: string | undefined): string | undefined {
  for (const dir of (path ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, cmd);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * The vLLM command line: `VLLM_COMMAND` (container env) or `vllm serve`, the
 * ServingRuntime + predictor args without --host/--port (inferd picks a loopback
 * port), `/mnt/models` replaced by the local model path, `--model` added if absent.
 */
export function vllmCommand(ctx: Pick<LoadContext, 'args' | 'env' | 'path'>, port: number, pathEnv: string | undefined): string[] {
  const configured = ctx.env.VLLM_COMMAND?.trim();
  let base: string[];
  if (configured) base = configured.split(/\s+/);
  else {
    const vllm = onPath('vllm', pathEnv);
    if (!vllm) throw new Error('vLLM is not installed here: no `vllm` executable on PATH. Install vLLM (pip install vllm) or set VLLM_COMMAND in the runtime container env.');
    base = [vllm, 'serve'];
  }
  const args: string[] = [];
  let hasModel = false;
  for (let i = 0; i < ctx.args.length; i++) {
    const a = ctx.args[i]!;
    if (/^--(host|port)(=|$)/.test(a)) {
      if (!a.includes('=')) i++;
      continue;
    }
    if (/^--model(=|$)/.test(a)) hasModel = true;
    args.push(a.replace(/\/mnt\/models/g, ctx.path));
  }
  if (!hasModel) args.unshift('--model', ctx.path);
  return [...base, ...args, '--host', LOOPBACK, '--port', String(port)];
}

class VllmProcessModel implements LoadedModel {
  readonly platform = 'vllm';
  readonly inputs: TensorSpec[] = [{ name: 'text_input', datatype: 'BYTES', shape: [-1] }];
  readonly outputs: TensorSpec[] = [{ name: 'text_output', datatype: 'BYTES', shape: [-1] }];
  readonly proxy: { baseUrl: string };

  constructor(private readonly child: ChildProcess, baseUrl: string, private readonly servedName: string) {
    this.proxy = { baseUrl };
  }

  /** V2 text_input → a short completion per element through vLLM's own API. */
  async infer(inputs: Tensor[]): Promise<Tensor[]> {
    const input = inputs.find((t) => t.name === 'text_input');
    if (!input || input.datatype !== 'BYTES') throw invalidInput('input text_input must be BYTES', 'inputs');
    const texts = await Promise.all((input.data as Uint8Array[]).map(async (b) => {
      const res = await fetch(`${this.proxy.baseUrl}/v1/completions`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: this.servedName, prompt: Buffer.from(b).toString('utf8'), max_tokens: 16, temperature: 0 }),
      });
      const j = (await res.json()) as { choices?: Array<{ text?: string }> };
      return j.choices?.[0]?.text ?? '';
    }));
    return [{ name: 'text_output', datatype: 'BYTES', shape: [texts.length], data: texts.map((t) => new Uint8Array(Buffer.from(t))) }];
  }

  memoryBytes(): number {
    return 0;
  }

  async unload(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
  }
}

/**
 * `inferd-vllm`: runs vLLM's OpenAI server as a local process (what the
 * `vllm/vllm-openai` container runs in a cluster) and proxies the OpenAI API to it,
 * streaming included. Formats `vllm` and `huggingface`.
 */
export const vllmRuntime: Runtime = {
  name: 'inferd-vllm',
  formats: ['vllm', 'huggingface'],
  async load(ctx: LoadContext): Promise<LoadedModel> {
    const port = await freePort();
    const pathEnv = ctx.env.PATH ?? process.env.PATH;
    const cmd = vllmCommand(ctx, port, pathEnv);
    ctx.log.info({ command: cmd.join(' ') }, 'starting vLLM');
    if (ctx.signal?.aborted) throw new Error('the revision was removed before vLLM started');
    // inferd's own credentials stay out of the process, as for every external process.
    const child = spawn(cmd[0]!, cmd.slice(1), { env: { ...inheritedEnv(), ...ctx.env, HOST: LOOPBACK }, stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    const keep = (b: Buffer) => {
      tail = (tail + b.toString()).slice(-4000);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    const baseUrl = `http://127.0.0.1:${port}`;
    const failed = new Promise<never>((_, reject) => {
      child.once('error', (err) => reject(new Error(`vLLM could not start: ${err.message}`)));
      child.once('exit', (code, signal) => reject(new Error(`vLLM exited (${code ?? signal}) before it was ready; last output:\n${tail}`)));
    });
    failed.catch(() => undefined);
    const ready = (async () => {
      const end = Date.now() + START_TIMEOUT_MS;
      while (Date.now() < end) {
        const res = await fetch(`${baseUrl}/health`).catch(() => undefined);
        if (res?.ok) return;
        await new Promise((r) => setTimeout(r, 200));
      }
      throw new Error(`vLLM did not answer ${baseUrl}/health within ${START_TIMEOUT_MS / 1000} s`);
    })();
    const model = new VllmProcessModel(child, baseUrl, ctx.name);
    // A delete while vLLM starts stops it now: the exit rejects `failed`.
    const abandon = () => void model.unload();
    ctx.signal?.addEventListener('abort', abandon, { once: true });
    try {
      await Promise.race([ready, failed]);
      const open = nonLoopbackListeners(child.pid);
      if (open.length) throw new Error(`vLLM listens on ${open.slice(0, 3).join(', ')}: it must listen on 127.0.0.1 only (check VLLM_COMMAND passes --host on)`);
    } catch (err) {
      await model.unload();
      throw err;
    } finally {
      ctx.signal?.removeEventListener('abort', abandon);
    }
    ctx.log.info({ baseUrl }, 'vLLM ready');
    return model;
  },
};
