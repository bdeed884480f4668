import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ONNX_FIXTURES } from '../helpers/fixtures.js';
import { startInferd, waitReady, type InferdProcess } from '../helpers/inferd-process.js';

async function infer(base: string, rows: number[][]): Promise<number[]> {
  const res = await fetch(`${base}/v2/models/mlp/infer`, {
    method: 'POST',
    body: JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [rows.length, 4], data: rows.flat() }] }),
  });
  const body = (await res.json()) as { outputs: Array<{ data: number[] }> };
  assert.equal(res.status, 200, JSON.stringify(body));
  return body.outputs[0]!.data;
}

/**
 * A model moved to the main thread (it computed in microseconds when probed) keeps only
 * batches it can finish in about 2 ms there: a larger batch runs in a worker replica, for
 * ONNX as for the classic runtimes, with the same answer.
 */
describe('an inline model sends large batches to a worker', () => {
  let srv: InferdProcess;
  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'inferd-batch-split-'));
    writeFileSync(join(dir, 'mlp.yaml'), `apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata: {name: mlp}
spec: {predictor: {model: {modelFormat: {name: onnx}, storageUri: "file://${join(ONNX_FIXTURES, 'mlp')}"}}}
`);
    srv = await startInferd(['-f', join(dir, 'mlp.yaml')]);
    await waitReady(srv.http, 60_000);
  });
  after(async () => {
    await srv.stop();
  });

  it('serves a batch over its inline row bound from a worker, with the rows it computes inline', async () => {
    const line = await srv.waitForLog((l) => l.model === 'mlp' && typeof l.maxInlineRows === 'number');
    const bound = line.maxInlineRows as number;
    const rows = Array.from({ length: bound + 7 }, (_, i) => [i / 10, 1 - i / 50, (i % 7) / 3, -i / 40]);
    const started = srv.logs.length;
    const batched = await infer(srv.http, rows);
    assert.ok(srv.logs.slice(started).some((l) => l.model === 'mlp' && String(l.msg).includes('worker')), 'no worker replica started for the large batch');
    const singles: number[] = [];
    for (let i = 0; i < rows.length; i += bound) singles.push(...(await infer(srv.http, rows.slice(i, i + bound))));
    assert.deepEqual(batched, singles);
  });
});
