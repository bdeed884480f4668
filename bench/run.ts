/**
 * `npm run bench [section]`: every performance figure, each next to a baseline
 * measured in the same run. BENCH_SECONDS sets the length of each load run.
 */
import { benchDashboard } from './dashboard.js';
import { benchEngine } from './engine-bench.js';
import { benchFootprint } from './footprint-bench.js';
import { benchLlm } from './llm-bench.js';
import { benchMetrics } from './metrics-bench.js';
import { benchTensorflow } from './tf-bench.js';
import { benchMultiModel } from './multi-model-bench.js';
import { benchQuantize } from './quantize-bench.js';
import { benchRedis } from './redis-bench.js';
import { benchSklearn } from './sklearn-bench.js';
import { benchMachine } from './machine-check.js';
import { benchTrees } from './trees-bench.js';
import { benchV2Rest } from './v2-rest-bench.js';

const sections: Array<[string, () => Promise<string[]>]> = [
  ['machine', benchMachine],
  ['v2-rest', benchV2Rest],
  ['engine', benchEngine],
  ['multi-model', benchMultiModel],
  ['trees', benchTrees],
  ['sklearn', benchSklearn],
  ['quantize', benchQuantize],
  ['metrics', benchMetrics],
  ['tensorflow', benchTensorflow],
  ['llm', benchLlm],
  ['dashboard', benchDashboard],
  ['footprint', benchFootprint],
  ['redis', benchRedis],
];
const only = process.argv.slice(2);

for (const [name, fn] of sections) {
  if (only.length && !only.includes(name)) continue;
  console.log(`\n== ${name}`);
  for (const line of await fn()) console.log(line);
}
