import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { CLI, REPO_ROOT, startInferd, type InferdProcess } from '../helpers/inferd-process.js';

const run = promisify(execFile);
const MODEL = readFileSync(join(REPO_ROOT, 'test/fixtures/onnx/mlp/model.onnx'));
const CHUNKS = 12;

/** Serves the model file in slices, 150 ms apart, so a download lasts about two seconds. */
function slowServer(): Promise<Server> {
  const server = createServer(async (req, res) => {
    if (req.url !== '/models/mlp/model.onnx') return res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': MODEL.length });
    if (req.method === 'HEAD') return res.end();
    const step = Math.ceil(MODEL.length / CHUNKS);
    for (let i = 0; i < MODEL.length; i += step) {
      res.write(MODEL.subarray(i, i + step));
      await sleep(150);
    }
    res.end();
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describe('download progress in status and in `inferd apply --wait`', () => {
  let srv: InferdProcess;
  let http: Server;
  const work = mkdtempSync(join(tmpdir(), 'inferd-progress-'));

  before(async () => {
    http = await slowServer();
    srv = await startInferd([]);
  });
  after(async () => {
    await srv?.stop();
    http?.close();
  });

  it('shows bytes, rate and ETA while the model downloads, then Ready; status carries the same figures', async () => {
    const port = (http.address() as AddressInfo).port;
    const file = join(work, 'slow.yaml');
    writeFileSync(
      file,
      `apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata: {name: slow}
spec:
  predictor:
    model:
      modelFormat: {name: onnx}
      storageUri: http://127.0.0.1:${port}/models/mlp/model.onnx
`,
    );
    const seen: unknown[] = [];
    let polling = true;
    const poll = (async () => {
      while (polling) {
        const isvc = (await (await fetch(`${srv.http}/apis/serving.kserve.io/v1beta1/namespaces/default/inferenceservices/slow`)).json()) as any;
        if (isvc.status?.modelStatus?.download) seen.push(isvc.status.modelStatus.download);
        await sleep(50);
      }
    })();
    const { stdout } = await run(process.execPath, [CLI, 'apply', '-f', file, '--wait', '--timeout', '60', '--server', srv.http]);
    polling = false;
    await poll;

    assert.match(stdout, /inferenceservice\/slow created/);
    assert.match(stdout, /default\/slow: downloading \d+(\.\d)? (B|KiB) \/ \d+(\.\d)? (B|KiB) \(\d+%\) at \d+(\.\d)? (B|KiB|MiB)\/s, ETA \d+ s/, stdout);
    assert.match(stdout, /default\/slow: Ready \(slow-predictor-00001\)/, stdout);
    assert.ok(seen.length > 0, 'status.modelStatus.download was present during the download');
    const d = seen.at(-1) as { uri: string; bytes: number; total: number; rate: number; done: boolean };
    assert.equal(d.total, MODEL.length);
    assert.ok(d.bytes > 0 && d.bytes <= MODEL.length);
    assert.ok(d.rate > 0);
    assert.equal(d.done, false);
    assert.equal(d.uri, `http://127.0.0.1:${port}/models/mlp/model.onnx`);
    // Once loaded, the download is gone from status.
    const isvc = (await (await fetch(`${srv.http}/apis/serving.kserve.io/v1beta1/namespaces/default/inferenceservices/slow`)).json()) as any;
    assert.equal(isvc.status.modelStatus.download, undefined);
  });

  it('`--wait` exits 1 and prints the reason when the model fails to load', async () => {
    const file = join(work, 'broken.yaml');
    const port = (http.address() as AddressInfo).port;
    writeFileSync(
      file,
      `apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata: {name: broken}
spec:
  predictor:
    model:
      modelFormat: {name: onnx}
      storageUri: http://127.0.0.1:${port}/models/missing/model.onnx
`,
    );
    const err = await run(process.execPath, [CLI, 'apply', '-f', file, '--wait', '--timeout', '60', '--server', srv.http]).then(
      () => assert.fail('apply --wait succeeded for a model that cannot load'),
      (e: { code: number; stdout: string }) => e,
    );
    assert.equal(err.code, 1);
    assert.match(err.stdout, /default\/broken: failed to load: \w+: .*404/, err.stdout);
    // An in-process model has no process output: `inferd logs` shows inferd's own lines about it.
    const logs = await run(process.execPath, [CLI, 'logs', 'isvc', 'broken', '--server', srv.http]);
    assert.match(logs.stderr, /broken is served in-process/);
    assert.match(logs.stdout, /\[revision 1\] loading model/, logs.stdout);
    assert.match(logs.stdout, /\[revision 1\] model failed to load: .*404/, logs.stdout);
  });
});
