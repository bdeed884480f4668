/**
 * `npm run bench [section ...]`: every performance figure, each next to a baseline
 * measured in the same run, each section in a process of its own. BENCH_SECONDS sets the
 * length of each load run.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
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
const chosen = sections.filter(([name]) => !only.length || only.includes(name));

if (chosen.length === 1) {
  const [name, fn] = chosen[0]!;
  console.log(`\n== ${name}`);
  for (const line of await fn()) console.log(line);
} else {
  // Each section in a fresh process: after the v2-rest section in the same process, the
  // trees section measured inferd's in-process kernel 30% slower (5.54 against 4.18 µs/row
  // at batch 1,000, XGBoost unchanged), so a figure depended on which sections ran before.
  let failed = 0;
  for (const [name] of chosen) {
    const r = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), name], { stdio: 'inherit' });
    if (r.status !== 0) failed++;
  }
  process.exitCode = failed ? 1 : 0;
}
