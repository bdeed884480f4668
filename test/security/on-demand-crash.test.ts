import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { blackHole } from '../helpers/black-hole.js';
import { startInferd, waitSettled, type InferdProcess } from '../helpers/inferd-process.js';

const BODY = JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }] });

/**
 * The crash-loop guard covers loads on demand too: a process that dies while a request loads a
 * scaled-to-zero model leaves that revision's marker, so the restarted server marks it failed
 * instead of letting the next request load (and crash) it again.
 */
describe('a process that dies inside an on-demand load does not load that revision again', () => {
  let hole: Awaited<ReturnType<typeof blackHole>>;
  let srv: InferdProcess | undefined;
  let args: string[];
  const dataDir = mkdtempSync(join(tmpdir(), 'inferd-ondemand-crash-data-'));

  before(async () => {
    hole = await blackHole();
    const dir = mkdtempSync(join(tmpdir(), 'inferd-ondemand-crash-'));
    writeFileSync(join(dir, 'models.yaml'), `apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata: {name: lazy}
spec: {predictor: {minReplicas: 0, model: {modelFormat: {name: onnx}, storageUri: "http://127.0.0.1:${hole.port}/models/lazy/model.onnx"}}}
`);
    writeFileSync(join(dir, 'inferd.yaml'), 'shutdownGraceSeconds: 2\n');
    args = ['-f', join(dir, 'models.yaml'), '--config', join(dir, 'inferd.yaml'), '--no-watch'];
  });
  after(async () => {
    await srv?.stop();
    hole.server.close();
  });

  it('is marked failed at the next start, and requests get 503 instead of a new load', async () => {
    srv = await startInferd(args, { dataDir });
    const standby = await waitSettled(srv.http, 'lazy');
    assert.equal(standby.status.modelStatus.states.targetModelState, 'Standby');
    // The request's load hangs on storage that never answers: the process is killed inside it.
    const pending = fetch(`${srv.http}/v2/models/lazy/infer`, { method: 'POST', body: BODY }).catch(() => undefined);
    await srv.waitForLog((l) => l.msg === 'loading model' && l.model === 'lazy' && typeof l.loadingMarker === 'string', 30_000);
    await hole.connected;
    srv.child.kill('SIGKILL');
    await srv.stop();
    await pending;

    srv = await startInferd(args, { dataDir });
    const failed = await waitSettled(srv.http, 'lazy');
    assert.equal(failed.status.modelStatus.states.targetModelState, 'FailedToLoad');
    const cond = failed.status.conditions.find((c: { type: string }) => c.type === 'PredictorReady');
    assert.match(cond.message, /server stopped while loading revision 1/);
    const res = await fetch(`${srv.http}/v2/models/lazy/infer`, { method: 'POST', body: BODY });
    assert.equal(res.status, 503);
  });
});
