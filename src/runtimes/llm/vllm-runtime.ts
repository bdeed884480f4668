import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { Container } from '../../api/resources/common.js';
import { LOOPBACK } from '../process/command.js';
import { GRACE_ANNOTATION, STARTUP_TIMEOUT_ANNOTATION, loadProcessModel } from '../process/process-runtime.js';
import type { LoadContext, LoadedModel, Runtime } from '../types.js';

/** How long vLLM may take to load before the load fails (big models download and compile). */
const START_TIMEOUT_S = 15 * 60;
const STOP_GRACE_S = 10;

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
export function vllmCommand(ctx: Pick<LoadContext, 'args' | 'env' | 'path'>, port: number | string, pathEnv: string | undefined): string[] {
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

/**
 * `inferd-vllm`: runs vLLM's OpenAI server as a supervised local process (what the
 * `vllm/vllm-openai` container runs in a cluster), like every external process
 * (src/runtimes/process): health-checked on `/health`, restarted with back-off, its output in
 * `inferd logs`. The OpenAI API is forwarded to it, streaming included; V1/V2 `text_input`
 * goes through its completions API. Formats `vllm` and `huggingface`.
 */
export const vllmRuntime: Runtime = {
  name: 'inferd-vllm',
  formats: ['vllm', 'huggingface'],
  async load(ctx: LoadContext): Promise<LoadedModel> {
    if (!ctx.process) throw new Error('vLLM runs as an external process: the loader must say where its logs go');
    const argv = vllmCommand(ctx, '{{.Port}}', ctx.env.PATH ?? process.env.PATH);
    const container: Container = { name: 'vllm', command: argv, readinessProbe: { httpGet: { path: '/health' } } };
    const annotations = { [STARTUP_TIMEOUT_ANNOTATION]: String(START_TIMEOUT_S), [GRACE_ANNOTATION]: String(STOP_GRACE_S) };
    return loadProcessModel({ ...ctx, args: [] }, { ...ctx.process, container, annotations, speaks: 'openai' });
  },
};
