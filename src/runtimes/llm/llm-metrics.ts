/**
 * LLM serving metrics with vLLM's names (`vllm:*`), kept per model and rendered in
 * the Prometheus text format by `renderVllmMetrics` for whoever serves /metrics.
 */
import type { LlmFinishReason } from './llm-types.js';

export const LATENCY_BUCKETS = [0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80];
export const TOKEN_LATENCY_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5];

export class Histogram {
  readonly counts: number[];
  sum = 0;
  count = 0;
  constructor(readonly buckets: readonly number[]) {
    this.counts = buckets.map(() => 0);
  }
  observe(v: number): void {
    this.sum += v;
    this.count++;
    for (let i = 0; i < this.buckets.length; i++) if (v <= this.buckets[i]!) this.counts[i]!++;
  }
}

export interface LlmMetrics {
  running: number;
  waiting: number;
  /** Share of the context's KV cells holding tokens, 0..1. */
  kvCacheUsage: number;
  promptTokens: number;
  generationTokens: number;
  requestSuccess: Record<Exclude<LlmFinishReason, 'tool_calls'> | 'tool_calls', number>;
  timeToFirstToken: Histogram;
  interTokenLatency: Histogram;
  e2eLatency: Histogram;
  queueTime: Histogram;
}

export function newMetrics(): Omit<LlmMetrics, 'running' | 'waiting' | 'kvCacheUsage'> {
  return {
    promptTokens: 0, generationTokens: 0,
    requestSuccess: { stop: 0, length: 0, tool_calls: 0, abort: 0 },
    timeToFirstToken: new Histogram(LATENCY_BUCKETS),
    interTokenLatency: new Histogram(TOKEN_LATENCY_BUCKETS),
    e2eLatency: new Histogram(LATENCY_BUCKETS),
    queueTime: new Histogram(LATENCY_BUCKETS),
  };
}

const esc = (s: string) => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/** Prometheus text for every model: `model_name` and `engine` labels as vLLM has them. */
export function renderVllmMetrics(models: ReadonlyArray<{ name: string; metrics: LlmMetrics }>): string {
  const out: string[] = [];
  const family = (name: string, type: string, help: string, rows: (m: LlmMetrics, l: string) => string[]) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const { name: model, metrics } of models) out.push(...rows(metrics, `model_name="${esc(model)}",engine="0"`));
  };
  const gauge = (name: string, help: string, get: (m: LlmMetrics) => number) => family(name, 'gauge', help, (m, l) => [`${name}{${l}} ${get(m)}`]);
  const counter = (name: string, help: string, get: (m: LlmMetrics) => number) => family(name, 'counter', help, (m, l) => [`${name}{${l}} ${get(m)}`]);
  const histogram = (name: string, help: string, get: (m: LlmMetrics) => Histogram) =>
    family(name, 'histogram', help, (m, l) => {
      const h = get(m);
      return [...h.buckets.map((b, i) => `${name}_bucket{${l},le="${b}"} ${h.counts[i]}`), `${name}_bucket{${l},le="+Inf"} ${h.count}`, `${name}_sum{${l}} ${h.sum}`, `${name}_count{${l}} ${h.count}`];
    });
  gauge('vllm:num_requests_running', 'Requests generating now.', (m) => m.running);
  gauge('vllm:num_requests_waiting', 'Requests waiting for a sequence.', (m) => m.waiting);
  gauge('vllm:kv_cache_usage_perc', 'KV-cache usage, 1 = full.', (m) => m.kvCacheUsage);
  counter('vllm:prompt_tokens_total', 'Prefill tokens processed.', (m) => m.promptTokens);
  counter('vllm:generation_tokens_total', 'Generation tokens produced.', (m) => m.generationTokens);
  family('vllm:request_success_total', 'counter', 'Finished requests by finish reason.', (m, l) => Object.entries(m.requestSuccess).map(([r, n]) => `vllm:request_success_total{${l},finished_reason="${r}"} ${n}`));
  histogram('vllm:time_to_first_token_seconds', 'Time to first token.', (m) => m.timeToFirstToken);
  histogram('vllm:inter_token_latency_seconds', 'Time between output tokens.', (m) => m.interTokenLatency);
  histogram('vllm:e2e_request_latency_seconds', 'End-to-end request latency.', (m) => m.e2eLatency);
  histogram('vllm:request_queue_time_seconds', 'Time waiting for a sequence.', (m) => m.queueTime);
  return `${out.join('\n')}\n`;
}
