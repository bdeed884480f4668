import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CLI, REPO_ROOT, startInferd, waitReady, type InferdProcess } from '../helpers/inferd-process.js';
import { execFileSync } from 'node:child_process';

/**
 * vLLM supervised like every external process, through a real `inferd serve` running the
 * stand-in vLLM (test/fixtures/process/fake-vllm.cjs) as its VLLM_COMMAND: killed or
 * unhealthy, it is restarted and the model is not ready meanwhile; its output is in
 * `inferd logs`; V2 text_input goes through its completions API.
 */
describe('vLLM supervision (a stand-in vLLM process)', () => {
  let srv: InferdProcess;
  let dir: string;
  const V2 = '/v2/models/qwen';

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'inferd-vllm-sup-'));
    writeFileSync(join(dir, 'model.yaml'), `
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata:
  name: qwen
spec:
  predictor:
    model:
      modelFormat:
        name: vllm
      storageUri: file://${dir}
      args: ["--served-model-name=qwen"]
      env:
        - name: VLLM_COMMAND
          value: "${process.execPath} ${join(REPO_ROOT, 'test/fixtures/process/fake-vllm.cjs')}"
`);
    srv = await startInferd(['-f', join(dir, 'model.yaml')]);
    await waitReady(srv.http, 30_000);
  });
  after(async () => {
    assert.equal(await srv.stop(), 0);
  });

  const get = (path: string) => fetch(`${srv.http}${path}`);
  const infer = (text: string) =>
    fetch(`${srv.http}${V2}/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [{ name: 'text_input', datatype: 'BYTES', shape: [1], data: [text], parameters: { max_tokens: 5 } }] }),
    });
  /** The pid that answered, or undefined for a not-ready answer: never a hang, a 404 or a 500. */
  const answeringPid = async (): Promise<number | undefined> => {
    const res = await infer('who');
    const text = await res.text();
    if (res.status !== 200) {
      assert.equal(res.status, 503, text);
      assert.ok(res.headers.get('retry-after'), 'a not-ready answer says when to retry');
      return undefined;
    }
    const body = JSON.parse(text) as { outputs: Array<{ name: string; data: string[] }> };
    return Number(/by pid (\d+)/.exec(body.outputs[0]!.data[0]!)![1]);
  };
  const pidOf = async (): Promise<number> => {
    let pid: number | undefined;
    await until('the model answers', async () => (pid = await answeringPid()) !== undefined);
    return pid!;
  };
  const until = async (what: string, pred: () => Promise<boolean>, timeoutMs = 30_000) => {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      if (await pred()) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.fail(`timed out waiting until ${what}`);
  };
  const events = async (): Promise<Array<{ reason: string; message: string }>> => {
    const res = await get('/apis/inferd.dev/v1/namespaces/default/inferenceservices/qwen/events');
    return ((await res.json()) as { items: Array<{ reason: string; message: string }> }).items;
  };

  it('answers V2 text_input through the completions API, as text_output', async () => {
    const res = await infer('hello');
    const text = await res.text();
    assert.equal(res.status, 200, text);
    const body = JSON.parse(text) as { outputs: Array<{ name: string; datatype: string; data: string[] }> };
    assert.equal(body.outputs[0]!.name, 'text_output');
    assert.equal(body.outputs[0]!.datatype, 'BYTES');
    assert.match(body.outputs[0]!.data[0]!, /^ completed "hello" in 5 tokens/);
    const meta = (await (await get(V2)).json()) as { inputs: Array<{ name: string }> };
    assert.equal(meta.inputs[0]!.name, 'text_input');
  });

  it('restarts a killed vLLM; the model is not ready until it is back, then answers again', async () => {
    const pid = await pidOf();
    process.kill(pid, 'SIGKILL');
    // Readiness is watched on its own: an inference request may be held across the whole restart.
    let sawNotReady = false;
    let watching = true;
    const watcher = (async () => {
      while (watching && !sawNotReady) {
        if ((await get(`${V2}/ready`)).status === 503) sawNotReady = true;
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    try {
      await until('the model answers from a new process', async () => {
        const now = await answeringPid();
        return now !== undefined && now !== pid;
      });
    } finally {
      watching = false;
      await watcher;
    }
    assert.ok(sawNotReady, 'readiness showed the restart');
    await until('the crash and the restart are recorded as events', async () => {
      const reasons = (await events()).map((e) => e.reason);
      return reasons.includes('ProcessCrashed') && reasons.includes('ProcessRestarted');
    });
    const crashed = (await events()).find((e) => e.reason === 'ProcessCrashed')!;
    assert.match(crashed.message, /SIGKILL/);
  });

  it('kills and restarts a vLLM whose health check keeps failing', async () => {
    const pid = await pidOf();
    const base = await processBase();
    assert.equal((await fetch(`${base}/test/sick`, { method: 'POST' })).status, 200);
    await until('a new process answers', async () => {
      const now = await answeringPid();
      return now !== undefined && now !== pid;
    }, 60_000);
    assert.ok((await events()).some((e) => e.reason === 'ProcessUnhealthy'), 'the failed health checks are an event');
  });

  it('shows the process output in inferd logs', () => {
    const out = execFileSync(process.execPath, [CLI, 'logs', 'isvc', 'qwen', '--server', srv.http], { encoding: 'utf8' });
    assert.match(out, /fake vllm pid \d+ serving qwen/);
  });

  /** The process's own address, from the process status inferd reports. */
  async function processBase(): Promise<string> {
    const res = await get('/apis/serving.kserve.io/v1beta1/namespaces/default/inferenceservices/qwen');
    const j = (await res.json()) as { status?: { processes?: Array<{ port?: number; state?: string }> } };
    const port = j.status?.processes?.find((p) => p.state === 'Running')?.port;
    assert.ok(port, JSON.stringify(j.status).slice(0, 500));
    return `http://127.0.0.1:${port}`;
  }
});
