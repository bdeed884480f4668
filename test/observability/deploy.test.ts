import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { REPO_ROOT } from '../helpers/inferd-process.js';
import { Metrics } from '../../src/observability/metrics.js';
import { ModelRouter } from '../../src/serving/model-router.js';
import { MemoryManager } from '../../src/serving/memory-manager.js';
import { newMetrics } from '../../src/runtimes/llm/llm-metrics.js';
import { renderVllmMetrics } from '../../src/runtimes/llm/llm-metrics.js';
import { run, which } from './prom-text.js';

const DASHBOARD = join(REPO_ROOT, 'deploy/grafana/inferd-dashboard.json');
const RULES = join(REPO_ROOT, 'deploy/prometheus/inferd-alerts.yml');
const SCRAPE = join(REPO_ROOT, 'deploy/prometheus/prometheus.yml');
const PROMTOOL = which('promtool');

/** Every family name inferd can export: its registry (GPU and memory-budget families included), and the vLLM families of an LLM. */
async function exportedFamilies(): Promise<Map<string, string>> {
  const memory = new MemoryManager({ budgetBytes: 1 << 30, idleUnloadMs: 60_000, minResidencyMs: 0 });
  const m = new Metrics({ router: new ModelRouter(), memory, gpu: false });
  const families = new Map<string, string>();
  for (const metric of m.registry.getMetricsAsArray()) families.set(metric.name, (metric as unknown as { type: string }).type);
  for (const g of ['inferd_gpu_utilization_ratio', 'inferd_gpu_memory_used_bytes', 'inferd_gpu_memory_total_bytes']) families.set(g, 'gauge');
  const llm = renderVllmMetrics([{ name: 'x', metrics: { ...newMetrics(), running: 0, waiting: 0, kvCacheUsage: 0 } }]);
  for (const line of llm.split('\n')) {
    const t = /^# TYPE (\S+) (\S+)/.exec(line);
    if (t) families.set(t[1]!, t[2]!);
  }
  memory.close();
  return families;
}

const PROMQL_WORDS = new Set([
  'sum', 'avg', 'min', 'max', 'count', 'rate', 'irate', 'increase', 'histogram_quantile', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right',
  'and', 'or', 'unless', 'bool', 'offset', 'avg_over_time', 'max_over_time', 'min_over_time', 'label_values', 'topk', 'bottomk', 'abs', 'clamp_min', 'clamp_max', 'delta', 'deriv', 'time', 'vector', 'scalar', 'inf', 'nan',
]);

/** Metric names in a PromQL expression: identifiers outside {...}, [...], by (...) and strings, not functions or keywords. */
export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\$[A-Za-z_]+/g, ' ');
  const names: string[] = [];
  const re = /([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\()?/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(stripped))) {
    const word = m[1]!;
    if (m[2] || PROMQL_WORDS.has(word) || /^\d/.test(word)) continue;
    // Numbers like 1e3 and duration units are not identifiers here; humanize* only appear in annotations.
    names.push(word);
  }
  return names;
}

function familyOf(name: string, families: Map<string, string>): string | undefined {
  if (families.has(name)) return name;
  const base = name.replace(/_(bucket|sum|count)$/, '');
  return families.get(base) === 'histogram' || families.get(base) === 'summary' ? base : undefined;
}

describe('shipped operations files', () => {
  it('the Grafana dashboard parses and every query names a metric inferd exports', async () => {
    const dash = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: Array<{ type: string; title: string; targets?: Array<{ expr: string }> }>; templating: { list: Array<{ query?: unknown }> } };
    const families = await exportedFamilies();
    const exprs = dash.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));
    for (const v of dash.templating.list) if (typeof v.query === 'string' && v.query.startsWith('label_values(')) exprs.push({ panel: 'variable', expr: v.query.slice('label_values('.length, v.query.lastIndexOf(',')) });
    assert.ok(exprs.length >= 25, `${exprs.length} queries`);
    const used = new Set<string>();
    for (const { panel, expr } of exprs) {
      const names = metricNames(expr);
      assert.ok(names.length > 0, `${panel}: no metric in ${expr}`);
      for (const n of names) {
        const fam = familyOf(n, families);
        assert.ok(fam, `${panel}: ${n} is not exported by inferd (${expr})`);
        used.add(fam);
      }
    }
    // The list: latency percentiles, RPS, errors, queue, memory, GPU, LLM tokens/s and TTFT.
    for (const f of ['inferd_request_duration_seconds', 'inferd_requests_total', 'inferd_request_errors_total', 'inferd_queue_depth', 'inferd_model_memory_bytes', 'inferd_gpu_utilization_ratio', 'vllm:generation_tokens_total', 'vllm:time_to_first_token_seconds']) {
      assert.ok(used.has(f), `dashboard lacks ${f}`);
    }
  });

  it('the alert rules only use exported metrics and cover the issue list', async () => {
    const doc = parse(readFileSync(RULES, 'utf8')) as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> };
    const families = await exportedFamilies();
    families.set('up', 'gauge');
    const rules = doc.groups.flatMap((g) => g.rules);
    for (const r of rules) for (const n of metricNames(r.expr)) assert.ok(familyOf(n, families), `${r.alert}: ${n} is not exported`);
    const names = rules.map((r) => r.alert);
    for (const a of ['InferdHighP99Latency', 'InferdHighErrorRate', 'InferdQueueSaturated', 'InferdModelLoadFailed', 'InferdMemoryNearBudget']) assert.ok(names.includes(a), a);
  });

  it('metricNames reads PromQL', () => {
    assert.deepEqual(metricNames('histogram_quantile(0.95, sum by (model, le) (rate(inferd_request_duration_seconds_bucket{model=~"$model"}[$__rate_interval])))'), ['inferd_request_duration_seconds_bucket']);
    assert.deepEqual(metricNames('inferd_memory_used_bytes / inferd_memory_budget_bytes > 0.9'), ['inferd_memory_used_bytes', 'inferd_memory_budget_bytes']);
    assert.deepEqual(metricNames('sum(rate(vllm:generation_tokens_total[1m]))'), ['vllm:generation_tokens_total']);
  });

  it('promtool check rules and check config pass', { skip: PROMTOOL ? false : 'promtool not installed (apt-get install prometheus); CI installs it' }, async () => {
    const rules = await run(PROMTOOL!, ['check', 'rules', RULES]);
    assert.equal(rules.code, 0, rules.out);
    assert.match(rules.out, /SUCCESS: 8 rules found/);
    const config = await run(PROMTOOL!, ['check', 'config', '--syntax-only', SCRAPE]);
    assert.equal(config.code, 0, config.out);
  });
});
