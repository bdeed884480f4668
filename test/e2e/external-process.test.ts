import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { materialize } from '../../src/runtimes/process/command.js';
import { CLI, REPO_ROOT, startInferd, type InferdProcess } from '../helpers/inferd-process.js';

const run = promisify(execFile);
const FIXTURE = join(REPO_ROOT, 'test/fixtures/process/v2-server.mjs');
const def = protoLoader.loadSync(join(REPO_ROOT, 'proto/grpc_predict_v2.proto'), { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
const { inference } = grpc.loadPackageDefinition(def) as any;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A ServingRuntime that runs the fixture script, shaped like KServe's runtimes (port flag, /mnt/models). */
function runtimeYaml(name: string, format: string): string {
  return `apiVersion: serving.kserve.io/v1alpha1
kind: ServingRuntime
metadata:
  name: ${name}
  annotations:
    inferd.dev/startup-timeout-seconds: "20"
    inferd.dev/termination-grace-seconds: "5"
spec:
  supportedModelFormats:
    - name: ${format}
      autoSelect: true
  protocolVersions: [v2, v1]
  containers:
    - name: kserve-container
      image: example.com/doubler:1.0
      command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(FIXTURE)}]
      args: ["--model_name={{.Name}}", "--model_dir=/mnt/models", "--http_port=8080"]
      env:
        - name: GREETING
          value: "hello {{.Name}}"
`;
}

function isvcYaml(name: string, format: string, storage: string, env = ''): string {
  return `apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata:
  name: ${name}
spec:
  predictor:
    model:
      modelFormat: {name: ${format}}
      storageUri: file://${storage}${env}
`;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('external-process runtime: command-line rules', () => {
  it('maps ports, /mnt/models and placeholders', () => {
    const { argv, env } = materialize(
      {
        argv: ['python', '-m', 'srv', '--port', '8080', '--grpc_port=8081', '--model=/mnt/models/m.gguf', '--dir=/mnt/models', '--x={{.Port}}', '--y=/mnt/modelsX', '--http-port=1'],
        env: { PORT: '9', URL: 'http://127.0.0.1:{{.Port}}', G: '{{.GrpcPort}}', MODEL: '/mnt/models' },
      },
      '/data/m',
      { http: 4001, grpc: 4002 },
    );
    assert.deepEqual(argv, ['python', '-m', 'srv', '--port', '4001', '--grpc_port=4002', '--model=/data/m/m.gguf', '--dir=/data/m', '--x=4001', '--y=/mnt/modelsX', '--http-port=4001']);
    assert.deepEqual(env, { PORT: '4001', URL: 'http://127.0.0.1:4001', G: '4002', MODEL: '/data/m', HOST: '127.0.0.1' });
  });

  it('binds every process to loopback, whatever host flag or HOST env it is given', () => {
    const { argv, env } = materialize(
      { argv: ['srv', '--host', '0.0.0.0', '--host=::', '--bind', '0.0.0.0:8080', '--address=10.0.0.1', '--listen', '--x'], env: { HOST: '0.0.0.0' } },
      '/data/m',
      { http: 4001, grpc: 4002 },
    );
    assert.deepEqual(argv, ['srv', '--host', '127.0.0.1', '--host=127.0.0.1', '--bind', '127.0.0.1:4001', '--address=127.0.0.1', '--listen', '--x']);
    assert.equal(env.HOST, '127.0.0.1');
  });
});

describe('external-process runtime: a local V2 server started, proxied, restarted and stopped by inferd', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'inferd-proc-'));
  const work = mkdtempSync(join(tmpdir(), 'inferd-proc-work-'));
  const modelDir = mkdtempSync(join(tmpdir(), 'inferd-proc-model-'));
  writeFileSync(join(modelDir, 'weights.bin'), 'not really weights');
  let srv: InferdProcess;
  const cli = async (...args: string[]) => run(process.execPath, [CLI, ...args, '--server', srv.http]);
  const apply = async (yaml: string) => {
    const file = join(work, `m-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(file, yaml);
    return (await cli('apply', '-f', file)).stdout;
  };
  const isvc = async (name: string) => (await (await fetch(`${srv.http}/apis/serving.kserve.io/v1beta1/namespaces/default/inferenceservices/${name}`)).json()) as any;
  const until = async <T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> => {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      const got = await fn();
      if (got) return got;
      await sleep(50);
    }
    throw new Error(`timed out waiting for ${what}`);
  };
  const logsApi = async (name: string) => {
    const res = await fetch(`${srv.http}/apis/inferd.dev/v1/namespaces/default/inferenceservices/${name}/logs`);
    return { status: res.status, body: (await res.json()) as any };
  };
  const infer = (data: number[], extra: Record<string, unknown> = {}, path = '/v2/models/doubler/infer') =>
    fetch(`${srv.http}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'r1', inputs: [{ name: 'x', datatype: 'FP32', shape: [data.length], data }], ...extra }),
    });

  before(async () => {
    srv = await startInferd([], { dataDir });
    await apply(runtimeYaml('node-doubler', 'doubler') + '---\n' + isvcYaml('doubler', 'doubler', join(modelDir, 'weights.bin')));
    await until('doubler to be ready', async () => {
      const i = await isvc('doubler');
      const ready = i.status?.conditions?.find((c: any) => c.type === 'Ready');
      if (ready?.status === 'False') throw new Error(`doubler failed: ${JSON.stringify(i.status)}`);
      return ready?.status === 'True';
    });
  });
  after(async () => {
    await srv?.stop();
  });

  it('starts the command with the port, /mnt/models and {{.Name}} rules applied', async () => {
    const { status, body } = await logsApi('doubler');
    assert.equal(status, 200);
    const item = body.items[0];
    assert.equal(item.state, 'Running');
    assert.equal(item.restarts, 0);
    assert.equal(item.image, 'example.com/doubler:1.0');
    assert.equal(item.revision, '1');
    assert.ok(item.port > 0 && item.port !== 8080);
    // The fixture itself says what it got.
    const info = (await (await fetch(`http://127.0.0.1:${item.port}/pid`)).json()) as any;
    assert.equal(info.pid, item.pid);
    assert.equal(info.modelDir, modelDir, '/mnt/models maps to the directory of the single-file storageUri');
    assert.equal(info.envPort, String(item.port));
    assert.equal(info.greeting, 'hello doubler');
    assert.match(item.command, /--http_port=\d+/);
    assert.ok(!item.command.includes('8080'));
  });

  it('proxies V2 infer and metadata (versioned paths too) and V1 predict', async () => {
    const res = await infer([1, 2, 3.5]);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('inferd-revision'), 'doubler-predictor-00001');
    assert.match(res.headers.get('content-type') ?? '', /application\/json/);
    const body = (await res.json()) as any;
    assert.deepEqual(body.outputs[0].data, [2, 4, 7]);
    assert.equal(body.id, 'r1');

    const versioned = await infer([4], {}, '/v2/models/doubler/versions/1/infer');
    assert.equal(versioned.status, 200);
    assert.deepEqual(((await versioned.json()) as any).outputs[0].data, [8]);

    const meta = (await (await fetch(`${srv.http}/v2/models/doubler`)).json()) as any;
    assert.equal(meta.platform, 'node-fixture');
    assert.deepEqual(meta.inputs, [{ name: 'x', datatype: 'FP32', shape: [-1] }]);

    const v1 = await fetch(`${srv.http}/v1/models/doubler:predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ instances: [1, 2, [3, 4]] }) });
    assert.equal(v1.status, 200);
    assert.deepEqual(await v1.json(), { predictions: [2, 4, [6, 8]] });

    // The process's own errors come back as they are.
    const bad = await fetch(`${srv.http}/v2/models/doubler/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ inputs: [{ name: 'z', datatype: 'INT32', shape: [1], data: [1] }] }) });
    assert.equal(bad.status, 400);
    assert.deepEqual(await bad.json(), { error: 'expected an FP32 input "x"' });

    const ready = await fetch(`${srv.http}/v2/models/doubler/ready`);
    assert.equal(ready.status, 200);
  });

  it('passes server-sent events through as they come', async () => {
    const started = Date.now();
    const res = await infer([1, 2, 3], { parameters: { sse: true } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    const reader = res.body!.getReader();
    const first = await reader.read();
    const firstAt = Date.now() - started;
    let text = Buffer.from(first.value!).toString();
    for (let r = await reader.read(); !r.done; r = await reader.read()) text += Buffer.from(r.value).toString();
    assert.ok(firstAt < Date.now() - started - 150, `the first event (${firstAt} ms) came before the stream ended (${Date.now() - started} ms)`);
    assert.deepEqual(text.split('\n\n').filter(Boolean), ['data: {"index":0,"value":2}', 'data: {"index":1,"value":4}', 'data: {"index":2,"value":6}', 'data: [DONE]']);
  });

  it('serves gRPC ModelInfer through the process (V2 JSON to it, checked against its metadata)', async () => {
    const client = new inference.GRPCInferenceService(srv.grpc, grpc.credentials.createInsecure());
    const call = (method: string, req: unknown) => new Promise<any>((resolve, reject) => client[method](req, (err: grpc.ServiceError | null, res: unknown) => (err ? reject(err) : resolve(res))));
    try {
      const res = await call('ModelInfer', { model_name: 'doubler', inputs: [{ name: 'x', datatype: 'FP32', shape: [2], contents: { fp32_contents: [1.5, -2] } }] });
      assert.equal(res.outputs[0].name, 'y');
      assert.deepEqual(res.outputs[0].contents.fp32_contents, [3, -4]);
      // inferd checks the request against the metadata it fetched from the process.
      await assert.rejects(call('ModelInfer', { model_name: 'doubler', inputs: [{ name: 'q', datatype: 'FP32', shape: [1], contents: { fp32_contents: [1] } }] }), (err: grpc.ServiceError) => err.code === grpc.status.INVALID_ARGUMENT && /unknown input "q"/.test(err.details));
    } finally {
      client.close();
    }
  });

  it('restarts the process when it is killed: only requests in flight at the kill fail', async () => {
    const before = (await logsApi('doubler')).body.items[0];
    const oldPid = before.pid as number;
    type Outcome = { start: number; end: number; status: number };
    const outcomes: Outcome[] = [];
    let killedAt = Infinity;
    let stop = false;
    const worker = async () => {
      while (!stop) {
        const start = performance.now();
        let status: number;
        try {
          const res = await infer([1, 2], { parameters: { delay_ms: 20 } });
          status = res.status;
          if (status === 200) assert.deepEqual(((await res.json()) as any).outputs[0].data, [2, 4]);
          else await res.arrayBuffer();
        } catch {
          status = -1;
        }
        outcomes.push({ start, end: performance.now(), status });
      }
    };
    const workers = [worker(), worker(), worker()];
    await sleep(300);
    killedAt = performance.now();
    process.kill(oldPid, 'SIGKILL');
    // SIGKILL lands asynchronously: a request sent in between can still reach the dying process.
    while (pidAlive(oldPid)) await sleep(2);
    const goneAt = performance.now();
    // Bounded: the process is back and serving within 10 s.
    const after = await until('a restarted process', async () => {
      const item = (await logsApi('doubler')).body.items[0];
      return item?.state === 'Running' && item.pid !== oldPid ? item : undefined;
    }, 10_000);
    await sleep(300);
    stop = true;
    await Promise.all(workers);

    const inFlight = (o: Outcome) => o.start < goneAt && o.end >= killedAt;
    const failedOutside = outcomes.filter((o) => o.status !== 200 && !inFlight(o));
    assert.deepEqual(failedOutside, [], `only requests in flight at the kill may fail (${outcomes.length} requests)`);
    for (const o of outcomes.filter((x) => x.status !== 200)) assert.equal(o.status, 503);
    assert.ok(outcomes.filter((o) => o.start > killedAt && o.status === 200).length > 0, 'requests after the kill succeed');
    assert.ok(outcomes.filter((o) => o.start < killedAt).length > 0);
    assert.equal(after.restarts, 1);
    assert.equal(after.lastExit.code, null);
    assert.equal(after.lastExit.signal, 'SIGKILL');
    assert.ok(!pidAlive(oldPid));
    // The crash shows in the InferenceService's status and events.
    const status = (await isvc('doubler')).status;
    assert.equal(status.processes.length, 1, JSON.stringify(status.processes));
    assert.equal(status.processes[0].restarts, 1);
    assert.equal(status.processes[0].lastExit.signal, 'SIGKILL');
    const events = (await (await fetch(`${srv.http}/apis/inferd.dev/v1/namespaces/default/inferenceservices/doubler/events`)).json()) as { items: Array<{ reason: string; message: string }> };
    assert.ok(events.items.some((e) => e.reason === 'ProcessCrashed'), JSON.stringify(events.items));
  });

  it('`inferd logs isvc NAME` shows the process output of both runs', async () => {
    const { stdout, stderr } = await cli('logs', 'isvc', 'doubler');
    assert.equal(stdout.match(/v2-server: serving doubler on 127\.0\.0\.1:\d+/g)?.length, 2, stdout);
    assert.match(stdout, /v2-server: stderr works/, stdout);
    assert.match(stdout, /\[inferd\] pid \d+ killed by SIGKILL/, stdout);
    assert.match(stdout, /\[inferd\] restarting in \d+ ms/, stdout);
    assert.match(stderr, /revision 1: Running pid \d+, restarts 1, last exit SIGKILL/, stderr);
    const tail = await cli('logs', 'isvc', 'doubler', '--tail', '1', '--timestamps');
    assert.equal(tail.stdout.trim().split('\n').length, 1, tail.stdout);
    assert.match(tail.stdout, /^\d{4}-\d\d-\d\dT\S+ (stdout|stderr|inferd) /, tail.stdout);
    // And a log file under the data directory.
    const file = join(dataDir, 'logs/default/doubler/revision-1.log');
    assert.ok(existsSync(file));
    assert.match(readFileSync(file, 'utf8'), /stdout v2-server: serving doubler/);
    // InferenceServices without a process have no logs.
    const none = await logsApi('nothing-here');
    assert.equal(none.status, 404);
    assert.match(none.body.error, /inferenceservice default\/nothing-here has no logs: no external process/);
  });

  it('a command that exits before it is ready fails the load with the command and its stderr', async () => {
    await apply(isvcYaml('broken', 'doubler', modelDir, '\n      env:\n        - {name: FAIL_START, value: "1"}'));
    const i = await until('broken to fail', async () => {
      const got = await isvc('broken');
      return got.status?.modelStatus?.lastFailureInfo ? got : undefined;
    });
    const failure = i.status.modelStatus.lastFailureInfo;
    assert.equal(failure.reason, 'ProcessExited');
    assert.match(failure.message, /v2-server\.mjs .*exited with code 3 before it was ready/);
    assert.match(failure.message, /fatal: cannot load model from /);
    assert.equal(i.status.modelStatus.states.targetModelState, 'FailedToLoad');
    const { body } = await logsApi('broken');
    assert.equal(body.items[0].live, false);
    assert.ok(body.items[0].lines.some((l: any) => /fatal: cannot load model/.test(l.text)));
    await fetch(`${srv.http}/apis/serving.kserve.io/v1beta1/namespaces/default/inferenceservices/broken`, { method: 'DELETE' });
  });

  it('deleting the InferenceService stops the process (SIGTERM) and the model is gone', async () => {
    const pid = (await logsApi('doubler')).body.items[0].pid as number;
    assert.ok(pidAlive(pid));
    // A request in flight when the delete comes still gets its answer: the unload waits for it.
    const slow = infer([5], { parameters: { delay_ms: 800 } });
    await sleep(200);
    const res = await fetch(`${srv.http}/apis/serving.kserve.io/v1beta1/namespaces/default/inferenceservices/doubler`, { method: 'DELETE' });
    assert.equal(res.status, 200);
    const answered = await slow;
    assert.equal(answered.status, 200);
    assert.deepEqual(((await answered.json()) as any).outputs[0].data, [10]);
    await until('the process to exit', async () => !pidAlive(pid), 10_000);
    const gone = await infer([1]);
    assert.equal(gone.status, 404);
    const { body } = await logsApi('doubler');
    assert.equal(body.items[0].live, false);
    assert.equal(body.items[0].state, 'Stopped');
    assert.ok(body.items[0].lines.some((l: any) => /SIGTERM received, exiting/.test(l.text)));
  });
});
