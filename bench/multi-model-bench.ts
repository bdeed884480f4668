import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { REPO_ROOT, startInferd, waitReady } from '../test/helpers/inferd-process.js';
import { fmt, percentiles } from './stats.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const MODELS = 200;
const FIT = 20;
const SIZE = 10 * 1024 * 1024;

/** c) 200 on-demand models behind a memory budget that holds 20 (ModelMesh's job). */
export async function benchMultiModel(): Promise<string[]> {
  const out = join(REPO_ROOT, 'bench-out');
  mkdirSync(out, { recursive: true });
  const module = join(REPO_ROOT, 'test/fixtures/custom/sized-model.mjs');
  const docs = [`apiVersion: serving.kserve.io/v1alpha1\nkind: ServingRuntime\nmetadata: {name: sized, annotations: {inferd.dev/module: "${module}"}}\nspec:\n  supportedModelFormats: [{name: sized, autoSelect: true}]\n  containers: [{name: kserve-container, args: ["--memory_bytes=${SIZE}"]}]\n`];
  for (let i = 0; i < MODELS; i++) docs.push(`apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata: {name: m${i}}\nspec: {predictor: {minReplicas: 0, model: {modelFormat: {name: sized}}}}\n`);
  writeFileSync(join(out, 'multi-models.yaml'), docs.join('---\n'));
  writeFileSync(join(out, 'multi-config.yaml'), `serving:\n  memoryBudgetBytes: ${FIT * SIZE}\n  minResidencySeconds: 0\n`);
  const srv = await startInferd(['-f', join(out, 'multi-models.yaml'), '--config', join(out, 'multi-config.yaml')]);
  try {
    await waitReady(srv.http, 120_000);
    let maxLoaded = 0;
    let polling = true;
    const poll = (async () => {
      while (polling) {
        const m = (await (await fetch(`${srv.http}/apis/inferd.dev/v1/memory`)).json()) as { loaded: number };
        maxLoaded = Math.max(maxLoaded, m.loaded);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const lat: number[] = [];
    let wrong = 0;
    const result = await new Promise<autocannon.Result>((resolve, reject) => {
      const instance = autocannon(
        {
          url: srv.http,
          connections: 8,
          duration: SECONDS,
          requests: [
            {
              method: 'POST',
              setupRequest: (req) => {
                const i = Math.floor(Math.random() * MODELS);
                return { ...req, path: `/v2/models/m${i}/infer`, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP64', shape: [1], data: [i] }] }) };
              },
              onResponse: (status, body) => {
                const parsed = JSON.parse(body) as { model_name?: string; outputs?: Array<{ data: number[] }> };
                // sized-model answers x + len(name): m<i> has name length 1 + digits of i.
                const i = Number(parsed.model_name?.slice(1));
                if (status !== 200 || parsed.outputs?.[0]?.data[0] !== i + parsed.model_name!.length) wrong++;
              },
            },
          ],
        },
        (err, r) => (err ? reject(err) : resolve(r)),
      );
      instance.on('response', (_c: unknown, _s: number, _b: number, ms: number) => lat.push(ms));
    });
    polling = false;
    await poll;
    const mem = (await (await fetch(`${srv.http}/apis/inferd.dev/v1/memory`)).json()) as { loads: number; evictions: number; loadMs: { p50: number; p99: number } | null };
    return [
      `${MODELS} on-demand models (custom JS model declaring ${SIZE / 1048576} MB each), budget for ${FIT}, 8 clients on random models`,
      fmt('requests', { rps: result.requests.average, ...percentiles(lat) }),
      `   ${result.requests.total} requests, ${wrong} wrong or failed answers; most models loaded at once: ${maxLoaded} (budget ${FIT}); loads ${mem.loads}, evictions ${mem.evictions}; load on demand p50 ${mem.loadMs?.p50.toFixed(2)} ms, p99 ${mem.loadMs?.p99.toFixed(2)} ms`,
    ];
  } finally {
    await srv.stop();
  }
}
