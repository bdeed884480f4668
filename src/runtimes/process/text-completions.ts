import { InferdError, invalidInput } from '../../api/errors.js';
import type { Tensor } from '../../api/inference.js';
import type { UpstreamResponse } from './upstream.js';

/** Per-tensor `parameters` passed on to the completions API (KServe's Hugging Face server reads the same names). */
const PASSED = ['max_tokens', 'temperature', 'top_p', 'seed', 'stop'] as const;

/** An answer of the model server process that is not 2xx, in inferd's error table (503 keeps its retry hint). */
export function upstreamError(status: number, message: string): InferdError {
  const code = status === 503 ? 'not_ready' : status === 504 ? 'timeout' : status === 429 ? 'overloaded' : status >= 400 && status < 500 ? 'invalid_input' : 'internal';
  return new InferdError(code, `model server process: ${message}`, code === 'not_ready' ? { retryAfter: 1 } : {});
}

/**
 * V1/V2 `text_input` on an OpenAI-only server (vLLM): one `/v1/completions` call per
 * element, answered as `text_output` in the same order.
 */
export async function completeTexts(inputs: Tensor[], post: (body: string) => Promise<UpstreamResponse>, model: string): Promise<Tensor[]> {
  const input = inputs.find((t) => t.name === 'text_input');
  if (!input || input.datatype !== 'BYTES') throw invalidInput('input text_input (BYTES) is required', 'inputs');
  const options: Record<string, unknown> = {};
  for (const k of PASSED) if (input.parameters?.[k] !== undefined) options[k] = input.parameters[k];
  const texts = await Promise.all((input.data as Uint8Array[]).map(async (bytes) => {
    const res = await post(JSON.stringify({ model, prompt: Buffer.from(bytes).toString('utf8'), ...options }));
    const text = res.body.toString('utf8');
    let parsed: { choices?: Array<{ text?: unknown }>; error?: { message?: unknown } | string } = {};
    try {
      parsed = JSON.parse(text) as typeof parsed;
    } catch {
      // reported below
    }
    if (res.status < 200 || res.status >= 300) {
      const message = typeof parsed.error === 'string' ? parsed.error : typeof parsed.error?.message === 'string' ? parsed.error.message : text.slice(0, 500);
      throw upstreamError(res.status, message);
    }
    const out = parsed.choices?.[0]?.text;
    if (typeof out !== 'string') throw new InferdError('internal', `model server process answered /v1/completions without choices[0].text: ${text.slice(0, 200)}`);
    return out;
  }));
  return [{ name: 'text_output', datatype: 'BYTES', shape: [texts.length], data: texts.map((t) => new Uint8Array(Buffer.from(t))) }];
}
