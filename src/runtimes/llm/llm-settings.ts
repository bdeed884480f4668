import { parseRuntimeArgs } from '../runtime-args.js';

/** Settings of one LLM model, from ServingRuntime + predictor args (vLLM's flag names accepted). */
export interface LlmSettings {
  servedNames: string[];
  /** Per-sequence context: prompt + completion limit (`--max-model-len`); undefined = min(trained, 4096). */
  maxModelLen?: number;
  /** Concurrent sequences in the one context (`--max-num-seqs`). */
  maxNumSeqs: number;
  /** Requests waiting for a sequence before 429 (`--max-queue`). */
  maxQueue: number;
  /** Tokens per evaluation batch across sequences (`--batch-size`, `--max-num-batched-tokens`). */
  batchSize?: number;
  /** ggml threads; undefined = llm-threads.ts (cores − 1, or every core with one libuv pool thread). */
  threads?: number;
  /** `false` = CPU only. `--gpu-memory-utilization`, `--gpu-layers` or `--device` turn on GPU offload. */
  gpu: false | 'auto' | 'cuda' | 'vulkan' | 'metal';
  gpuLayers?: number | 'auto' | 'max';
  gpuMemoryUtilization?: number;
  enableAutoToolChoice: boolean;
  toolCallParser?: string;
  /** A built-in wrapper name (`chatML`, `llama3`, …), a Jinja template file, or the Jinja text. */
  chatTemplate?: string;
  /** `auto` (llama.cpp's default: on where the backend has it) unless `--flash-attention on|off` says. */
  flashAttention: boolean | 'auto';
  /** Default seed when a request gives none. */
  seed?: number;
}


const num = (flags: Map<string, string>, keys: string[], kind: 'int' | 'float' = 'int'): number | undefined => {
  for (const k of keys) {
    const raw = flags.get(k);
    if (raw === undefined) continue;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < 0 || (kind === 'int' && !Number.isInteger(n))) {
      throw new Error(`runtime arg --${k.replace(/_/g, '-')} must be a non-negative ${kind === 'int' ? 'integer' : 'number'}, got "${raw}"`);
    }
    return n;
  }
  return undefined;
};

const bool = (flags: Map<string, string>, key: string): boolean => {
  const raw = flags.get(key);
  return raw !== undefined && raw !== 'false' && raw !== '0';
};

/** `--flash-attention` alone or `on`/`true`/`1` forces it on, `off`/`false`/`0` off; `auto` or absent leaves it to llama.cpp. */
function flashAttention(raw: string | undefined): boolean | 'auto' {
  if (raw === undefined || raw === 'auto') return 'auto';
  if (['off', 'false', '0'].includes(raw)) return false;
  if (['on', 'true', '1', ''].includes(raw)) return true;
  throw new Error(`runtime arg --flash-attention must be on, off or auto, got "${raw}"`);
}

/** `--served-model-name a b` takes several values, so it is read from the raw args. */
function servedNames(args: readonly string[]): string[] {
  let names: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const m = /^--served[-_]model[-_]name(?:=(.*))?$/.exec(a);
    if (!m) continue;
    names = [];
    if (m[1] !== undefined) names.push(...m[1].split(',').filter(Boolean));
    else while (args[i + 1] !== undefined && !args[i + 1]!.startsWith('--')) names.push(...args[++i]!.split(',').filter(Boolean));
  }
  return names;
}

export function parseLlmSettings(args: readonly string[], modelName: string): LlmSettings {
  const flags = parseRuntimeArgs(args);
  const names = servedNames(args);
  const device = flags.get('device') ?? flags.get('gpu');
  const gpuUtil = num(flags, ['gpu_memory_utilization'], 'float');
  const gpuLayersRaw = flags.get('gpu_layers') ?? flags.get('n_gpu_layers');
  let gpu: LlmSettings['gpu'] = false;
  if (device !== undefined && device !== 'cpu' && device !== 'false') {
    if (!['auto', 'cuda', 'vulkan', 'metal', 'true'].includes(device)) throw new Error(`runtime arg --device must be cpu, auto, cuda, vulkan or metal, got "${device}"`);
    gpu = device === 'true' ? 'auto' : (device as LlmSettings['gpu']);
  } else if (device === undefined && (gpuUtil !== undefined || (gpuLayersRaw !== undefined && gpuLayersRaw !== '0'))) gpu = 'auto';
  const settings: LlmSettings = {
    servedNames: names.length ? names : [modelName],
    maxNumSeqs: num(flags, ['max_num_seqs', 'parallel', 'sequences']) ?? 8,
    maxQueue: num(flags, ['max_queue', 'max_waiting']) ?? 256,
    gpu,
    enableAutoToolChoice: bool(flags, 'enable_auto_tool_choice'),
    flashAttention: flashAttention(flags.get('flash_attention') ?? flags.get('flash_attn')),
  };
  if (settings.maxNumSeqs < 1) throw new Error('runtime arg --max-num-seqs must be at least 1');
  const maxLen = num(flags, ['max_model_len', 'ctx_size', 'context_size', 'n_ctx']);
  if (maxLen !== undefined) settings.maxModelLen = maxLen;
  const batch = num(flags, ['batch_size', 'max_num_batched_tokens']);
  if (batch !== undefined) settings.batchSize = batch;
  const threads = num(flags, ['threads', 'n_threads']);
  if (threads !== undefined) settings.threads = threads;
  if (gpuUtil !== undefined) {
    if (gpuUtil <= 0 || gpuUtil > 1) throw new Error(`runtime arg --gpu-memory-utilization must be in (0, 1], got ${gpuUtil}`);
    settings.gpuMemoryUtilization = gpuUtil;
  }
  if (gpuLayersRaw !== undefined) {
    if (gpuLayersRaw === 'auto' || gpuLayersRaw === 'max') settings.gpuLayers = gpuLayersRaw;
    else settings.gpuLayers = num(flags, ['gpu_layers', 'n_gpu_layers']) ?? 0;
  }
  const parser = flags.get('tool_call_parser');
  if (parser !== undefined) settings.toolCallParser = parser;
  const template = flags.get('chat_template');
  if (template !== undefined) settings.chatTemplate = template;
  const seed = num(flags, ['seed']);
  if (seed !== undefined) settings.seed = seed;
  return settings;
}
