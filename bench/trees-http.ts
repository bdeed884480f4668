/**
 * Batch 1 of the trees bench model through V2 REST: one client, so the figure is
 * what a single prediction costs end to end (HTTP, authentication, JSON, kernel).
 * Default configuration (authentication on, a predictor key) first, `--auth none`
 * as the second column.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { startInferd, waitModelsReady, waitReady } from '../test/helpers/inferd-process.js';
import { adminKeyOf, createKey } from '../test/helpers/keys.js';
import { warmedLoad } from './load.js';
import type { Figures } from './stats.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);

async function measure(modelFile: string, row: readonly number[], authOn: boolean): Promise<Figures> {
  const dir = mkdtempSync(join(tmpdir(), 'inferd-trees-bench-'));
  const manifest = join(dir, 'trees.yaml');
  writeFileSync(manifest, JSON.stringify({
    apiVersion: 'serving.kserve.io/v1beta1', kind: 'InferenceService', metadata: { name: 'trees' },
    spec: { predictor: { model: { modelFormat: { name: 'xgboost' }, storageUri: `file://${modelFile}` } } },
  }));
  // With authentication on, file:// models must lie under a configured root.
  const config = join(dir, 'config.yaml');
  writeFileSync(config, `storage:\n  fileRoots: [${JSON.stringify(dirname(modelFile))}]\n`);
  const dataDir = join(dir, 'data');
  const srv = await startInferd(['-f', manifest, '--config', config], authOn ? { dataDir, serverDefaultAuth: true } : { dataDir });
  try {
    await waitReady(srv.http);
    const headers: Record<string, string> = {};
    if (authOn) headers.authorization = `Bearer ${await createKey(srv.http, adminKeyOf(dataDir), 'predictor', ['default'])}`;
    await waitModelsReady(srv.http, ['trees'], 60_000, headers);
    const body = JSON.stringify({ inputs: [{ name: 'input-0', datatype: 'FP32', shape: [1, row.length], data: row }] });
    const url = `${srv.http}/v2/models/trees/infer`;
    return await warmedLoad({ url, body, connections: 1, headers }, SECONDS);
  } finally {
    await srv.stop();
  }
}

export async function benchTreesHttp(modelFile: string, row: readonly number[]): Promise<string> {
  const on = await measure(modelFile, row, true);
  const off = await measure(modelFile, row, false);
  const us = (f: Figures): string => `${(1e6 / f.rps).toFixed(0)} µs/request (p50 ${(f.p50 * 1000).toFixed(0)} µs)`;
  return `inferd  batch 1 via V2 REST JSON, 1 client: auth on ${us(on)}; --auth none ${us(off)}`;
}
