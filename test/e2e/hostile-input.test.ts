import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { REPO_ROOT, startInferd, waitReady, type InferdProcess } from '../helpers/inferd-process.js';
import { SLOW_JS_RUNTIME } from '../helpers/fixtures.js';

/**
 * Hostile input: generated malformed V1/V2/OpenAI bodies, oversized and deeply nested
 * JSON, binary-extension lengths that lie, invalid UTF-8, huge headers, raw garbage on
 * the socket and slow-loris connections, against a real `inferd serve` with auth on.
 * Invariants: the process never exits, no answer is a 5xx other than 503/504, and its
 * memory stays bounded. Counts are printed at the end.
 */
const counts: Record<string, number> = {};
const statuses: Record<string, number> = {};
const count = (what: string, status: number | string) => {
  counts[what] = (counts[what] ?? 0) + 1;
  statuses[String(status)] = (statuses[String(status)] ?? 0) + 1;
};
const OK_5XX = new Set([503, 504]);
const acceptable = (s: number) => s > 0 && (s < 500 || OK_5XX.has(s));

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0);
}

/** One raw HTTP exchange: returns the status (0 when the server closed without one). */
function raw(port: number, bytes: Buffer | string, timeoutMs = 5000): Promise<number> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1');
    let data = '';
    const done = () => {
      clearTimeout(timer);
      sock.destroy();
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(data);
      resolve(m ? Number(m[1]) : 0);
    };
    const timer = setTimeout(done, timeoutMs);
    sock.on('data', (d) => {
      data += d.toString('latin1');
      if (/\r\n\r\n/.test(data)) done();
    });
    sock.on('error', done);
    sock.on('close', done);
    sock.write(bytes);
  });
}

describe('hostile input (fast-check fuzzing against inferd serve)', () => {
  let srv: InferdProcess;
  let token: string;
  let port: number;
  let rssStart = 0;
  let rssPeak = 0;
  const MAX_BODY = 1024 * 1024;

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'inferd-hostile-'));
    const dataDir = join(dir, 'data');
    writeFileSync(join(dir, 'config.yaml'), `limits: {maxBodyBytes: ${MAX_BODY}, maxTensorElements: 100000}
storage: {fileRoots: ["${join(REPO_ROOT, 'test/fixtures/onnx')}"]}
security:
  limits: {maxHeaderBytes: 8192, headersTimeoutMs: 1000, requestTimeoutMs: 4000, maxJsonDepth: 64, maxStringBytes: 65536}
`);
    writeFileSync(join(dir, 'models.yaml'), `${SLOW_JS_RUNTIME}---
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata: {name: echo}
spec: {predictor: {model: {modelFormat: {name: slow}}}}
---
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata: {name: mlp}
spec: {predictor: {model: {modelFormat: {name: onnx}, storageUri: "file://${join(REPO_ROOT, 'test/fixtures/onnx/mlp')}"}}}
`);
    srv = await startInferd(['-f', join(dir, 'models.yaml'), '--config', join(dir, 'config.yaml'), '--auth', 'keys'], { dataDir });
    token = readFileSync(join(dataDir, 'admin.key'), 'utf8').trim();
    port = Number(new URL(srv.http).port);
    await waitReady(srv.http);
    rssStart = rssKb(srv.child.pid!);
  });

  after(async () => {
    const code = await srv?.stop();
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    console.log(`hostile-input cases: ${total} ${JSON.stringify(counts)}`);
    console.log(`hostile-input statuses: ${JSON.stringify(statuses)}`);
    console.log(`hostile-input server RSS: start ${Math.round(rssStart / 1024)} MiB, peak ${Math.round(rssPeak / 1024)} MiB; exit code ${code}`);
  });

  const send = async (what: string, path: string, body: Uint8Array | string | undefined, headers: Record<string, string> = {}, method = 'POST') => {
    const res = await fetch(`${srv.http}${path}`, { method, ...(body !== undefined ? { body } : {}), headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers } });
    await res.arrayBuffer();
    count(what, res.status);
    if (!acceptable(res.status)) throw new Error(`${what}: ${method} ${path} answered ${res.status}`);
    return res.status;
  };

  const alive = async () => {
    assert.equal(srv.child.exitCode, null, 'the server process is still running');
    const res = await fetch(`${srv.http}/v2/health/live`);
    assert.equal(res.status, 200);
    rssPeak = Math.max(rssPeak, rssKb(srv.child.pid!));
  };

  const datatype = fc.constantFrom('FP32', 'FP64', 'FP16', 'INT8', 'INT16', 'INT32', 'INT64', 'UINT8', 'UINT64', 'BOOL', 'BYTES', 'BF16', 'nope', '');
  const shape = fc.oneof(fc.array(fc.integer({ min: -3, max: 70000 }), { maxLength: 9 }), fc.jsonValue({ maxDepth: 2 }));
  const tensor = fc.record(
    { name: fc.oneof(fc.constantFrom('input', 'x', ''), fc.string({ maxLength: 40 })), datatype, shape, data: fc.oneof(fc.array(fc.oneof(fc.double(), fc.integer(), fc.boolean(), fc.string({ maxLength: 8 }), fc.constant(null)), { maxLength: 40 }), fc.jsonValue({ maxDepth: 3 })), parameters: fc.jsonValue({ maxDepth: 2 }) },
    { requiredKeys: [] },
  );
  const v2Body = fc.record({ id: fc.jsonValue({ maxDepth: 1 }), inputs: fc.oneof(fc.array(tensor, { maxLength: 4 }), fc.jsonValue({ maxDepth: 2 })), outputs: fc.jsonValue({ maxDepth: 2 }), parameters: fc.jsonValue({ maxDepth: 2 }) }, { requiredKeys: [] });

  it('malformed V2 infer bodies (structure-aware and arbitrary JSON)', async () => {
    await fc.assert(fc.asyncProperty(fc.constantFrom('mlp', 'echo', 'ghost'), v2Body, async (model, body) => {
      await send('v2-structured', `/v2/models/${model}/infer`, JSON.stringify(body));
    }), { numRuns: 1500 });
    await fc.assert(fc.asyncProperty(fc.constantFrom('mlp', 'echo'), fc.jsonValue({ maxDepth: 6 }), async (model, body) => {
      await send('v2-any-json', `/v2/models/${model}/infer`, JSON.stringify(body));
    }), { numRuns: 800 });
    await alive();
  });

  it('malformed V1 predict and OpenAI bodies', async () => {
    const v1 = fc.record({ instances: fc.oneof(fc.array(fc.oneof(fc.array(fc.double(), { maxLength: 6 }), fc.jsonValue({ maxDepth: 3 })), { maxLength: 8 }), fc.jsonValue({ maxDepth: 3 })), inputs: fc.jsonValue({ maxDepth: 3 }) }, { requiredKeys: [] });
    // V1 bodies go to the runtime's own V1 handler; a custom JS model's predict() sees them unvalidated
    // (as KServe's custom predictors do), so the fuzz targets inferd's own V1 codec (ONNX) and the router.
    await fc.assert(fc.asyncProperty(fc.constantFrom('mlp', 'ghost'), v1, async (model, body) => {
      await send('v1-predict', `/v1/models/${model}:predict`, JSON.stringify(body));
    }), { numRuns: 800 });
    const message = fc.record({ role: fc.oneof(fc.constantFrom('system', 'user', 'assistant', 'tool'), fc.string({ maxLength: 10 })), content: fc.oneof(fc.string({ maxLength: 200 }), fc.jsonValue({ maxDepth: 3 })) }, { requiredKeys: [] });
    const chat = fc.record({ model: fc.oneof(fc.constantFrom('echo', 'mlp', 'ghost'), fc.jsonValue({ maxDepth: 1 })), messages: fc.oneof(fc.array(message, { maxLength: 5 }), fc.jsonValue({ maxDepth: 2 })), stream: fc.jsonValue({ maxDepth: 1 }), max_tokens: fc.jsonValue({ maxDepth: 1 }), temperature: fc.jsonValue({ maxDepth: 1 }), response_format: fc.jsonValue({ maxDepth: 3 }), tools: fc.jsonValue({ maxDepth: 3 }) }, { requiredKeys: [] });
    await fc.assert(fc.asyncProperty(fc.constantFrom('/v1/chat/completions', '/openai/v1/chat/completions'), chat, async (path, body) => {
      await send('openai-chat', path, JSON.stringify(body));
    }), { numRuns: 500 });
    const other = fc.record({ model: fc.jsonValue({ maxDepth: 1 }), prompt: fc.jsonValue({ maxDepth: 3 }), input: fc.jsonValue({ maxDepth: 3 }) }, { requiredKeys: [] });
    await fc.assert(fc.asyncProperty(fc.constantFrom('/v1/completions', '/v1/embeddings'), other, async (path, body) => {
      await send('openai-other', path, JSON.stringify(body));
    }), { numRuns: 300 });
    await alive();
  });

  it('random bytes and invalid UTF-8 as bodies, with and without a JSON content type', async () => {
    const invalidUtf8 = fc.array(fc.oneof(fc.constantFrom(0xc0, 0xc1, 0xf5, 0xff, 0x80, 0xbf, 0xed, 0xa0), fc.integer({ min: 0, max: 255 })), { maxLength: 300 }).map((a) => Uint8Array.from(a));
    await fc.assert(fc.asyncProperty(fc.constantFrom('/v2/models/mlp/infer', '/v2/models/echo/infer', '/v1/models/mlp:predict', '/v1/chat/completions', '/apis/inferd.dev/v1/apply'), fc.oneof(fc.uint8Array({ maxLength: 2000 }), invalidUtf8), fc.constantFrom('application/json', 'application/octet-stream', 'text/plain; charset=utf-8', 'application/yaml'), async (path, body, ct) => {
      await send('random-bytes', path, body, { 'content-type': ct });
    }), { numRuns: 800 });
    await alive();
  });

  it('binary tensor extension with lying lengths', async () => {
    await fc.assert(fc.asyncProperty(
      fc.constantFrom('mlp', 'echo'),
      fc.oneof(fc.integer({ min: -5, max: 5000 }).map(String), fc.constantFrom('', ' 12', '1e3', '0x10', '99999999999999999999', 'NaN', '-0', '+5')),
      fc.array(fc.record({ name: fc.constantFrom('input', 'x'), datatype: fc.constantFrom('FP32', 'BYTES', 'INT64', 'BOOL'), shape: fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 3 }), parameters: fc.record({ binary_data_size: fc.oneof(fc.integer({ min: -10, max: 1 << 20 }), fc.double(), fc.string({ maxLength: 4 })) }, { requiredKeys: [] }) }), { minLength: 1, maxLength: 3 }),
      fc.uint8Array({ maxLength: 600 }),
      async (model, headerLen, inputs, tail) => {
        const json = Buffer.from(JSON.stringify({ inputs, outputs: [{ name: 'probabilities', parameters: { binary_data: true } }] }));
        const body = Buffer.concat([json, tail]);
        await send('binary-lengths', `/v2/models/${model}/infer`, body, { 'content-type': 'application/octet-stream', 'inference-header-content-length': headerLen });
      },
    ), { numRuns: 1000 });
    await alive();
  });

  it('deeply nested and oversized JSON', async () => {
    await fc.assert(fc.asyncProperty(fc.integer({ min: 1, max: 200_000 }), fc.constantFrom('[', '{"a":'), async (depth, open) => {
      const close = open === '[' ? ']' : '}';
      const capped = Math.min(depth, Math.floor(MAX_BODY / (open.length + 1)) - 2);
      const body = open.repeat(capped) + '1' + close.repeat(capped);
      const status = await send('deep-json', '/v2/models/mlp/infer', `{"inputs":${body}}`);
      if (capped > 64) assert.equal(status, 400, `depth ${capped}`);
    }), { numRuns: 200 });
    for (const size of [MAX_BODY + 1, 4 * MAX_BODY, 16 * MAX_BODY]) {
      const status = await send('oversized-body', '/v2/models/mlp/infer', Buffer.alloc(size, 0x20)).catch(() => 413);
      assert.equal(status, 413);
    }
    const longString = `{"inputs":[{"name":"x","datatype":"BYTES","shape":[1],"data":["${'a'.repeat(100_000)}"]}]}`;
    assert.equal(await send('long-string', '/v2/models/echo/infer', longString), 400);
    const huge = `{"inputs":[{"name":"input","datatype":"FP32","shape":[100000000000,4],"data":[1]}]}`;
    assert.equal(await send('huge-shape', '/v2/models/mlp/infer', huge), 400);
    await alive();
  });

  it('hostile headers: huge, many, invalid UTF-8, malformed cookies and routing headers', async () => {
    for (const n of [9000, 20_000, 100_000]) {
      const status = await raw(port, `GET /v2/models/mlp HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nX-Big: ${'a'.repeat(n)}\r\n\r\n`);
      count('huge-header', status);
      assert.equal(status, 431);
    }
    const many = Array.from({ length: 2000 }, (_, i) => `X-H${i}: v`).join('\r\n');
    const st = await raw(port, `GET /v2/models/mlp HTTP/1.1\r\nHost: x\r\n${many}\r\n\r\n`);
    count('many-headers', st);
    assert.ok(acceptable(st) || st === 0, `many headers: ${st}`);
    await fc.assert(fc.asyncProperty(
      fc.constantFrom('inferd-sticky', 'inferd-revision', 'inferd-timeout', 'inferd-namespace', 'cookie', 'authorization', 'x-api-key', 'content-length', 'inference-header-content-length', 'transfer-encoding'),
      fc.oneof(fc.string({ maxLength: 60 }), fc.uint8Array({ maxLength: 60 }).map((a) => Buffer.from(a).toString('latin1')), fc.constantFrom('inferd-sticky=%E0%A4%A', 'inferd-sticky=%', 'Bearer ', 'Bearer ik_', '-1', '1e309', 'chunked, chunked')),
      fc.constantFrom('GET /v2/models/mlp', 'POST /v2/models/echo/infer', 'POST /v1/models/mlp:predict', 'GET /v2/models/%ff%fe/ready', 'GET /v2/models/\xff\xfe', 'POST /v2/models/mlp/versions/%00/infer'),
      async (name, value, line) => {
        const clean = value.replace(/[\r\n]/g, '');
        const body = '{"inputs":[{"name":"x","datatype":"FP32","shape":[1,1],"data":[1]}]}';
        const headers = name === 'content-length' || name === 'transfer-encoding' ? `${name}: ${clean}\r\n` : `Content-Length: ${body.length}\r\n${name}: ${clean}\r\n`;
        const auth = name === 'authorization' ? '' : `Authorization: Bearer ${token}\r\n`;
        const status = await raw(port, Buffer.concat([Buffer.from(`${line} HTTP/1.1\r\nHost: x\r\n${auth}`, 'latin1'), Buffer.from(headers, 'latin1'), Buffer.from(`Connection: close\r\n\r\n${body}`)]), 3000);
        count('header-fuzz', status);
        if (status !== 0 && !acceptable(status)) throw new Error(`${line} with ${name}: ${JSON.stringify(clean)} answered ${status}`);
      },
    ), { numRuns: 1000 });
    await alive();
  });

  it('raw garbage request lines and paths', async () => {
    await fc.assert(fc.asyncProperty(fc.oneof(fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)), fc.string({ maxLength: 200 }).map((s) => Buffer.from(`GET /${s} HTTP/1.1\r\nHost: x\r\n\r\n`))), async (bytes) => {
      const status = await raw(port, bytes, 1500);
      count('raw-garbage', status);
      if (status !== 0 && !acceptable(status)) throw new Error(`answered ${status} to ${bytes.toString('latin1').slice(0, 80)}`);
    }), { numRuns: 500 });
    await alive();
  });

  it('slow-loris connections are cut while other clients are served', async () => {
    const sockets: Socket[] = [];
    const closed: number[] = [];
    const started = Date.now();
    for (let i = 0; i < 100; i++) {
      const s = connect(port, '127.0.0.1');
      s.on('error', () => {});
      s.on('close', () => closed.push(Date.now() - started));
      s.write('POST /v2/models/echo/infer HTTP/1.1\r\nHost: x\r\n');
      sockets.push(s);
    }
    const drip = setInterval(() => {
      for (const s of sockets) if (!s.destroyed) s.write(`X-Drip: ${'a'}\r\n`);
    }, 200);
    // Slow bodies too: headers complete, body never finishes.
    for (let i = 0; i < 20; i++) {
      const s = connect(port, '127.0.0.1');
      s.on('error', () => {});
      s.on('close', () => closed.push(Date.now() - started));
      s.write(`POST /v2/models/echo/infer HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Length: 100000\r\n\r\n{"inputs":`);
      sockets.push(s);
    }
    const served: number[] = [];
    for (let i = 0; i < 20; i++) {
      served.push(await send('during-slow-loris', '/v2/models/echo/infer', JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 1], data: [1] }] })));
    }
    assert.ok(served.every((s) => s === 200), 'other clients are served while slow ones hang');
    const deadline = Date.now() + 15_000;
    while (closed.length < sockets.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    clearInterval(drip);
    for (const s of sockets) s.destroy();
    counts['slow-loris-connections'] = sockets.length;
    assert.equal(closed.length, sockets.length, `${closed.length}/${sockets.length} slow connections closed by the server`);
    assert.ok(Math.max(...closed) < 12_000, `closed within ${Math.max(...closed)} ms`);
    await alive();
  });

  it('memory stays bounded and the server is healthy at the end', async () => {
    await alive();
    const growthMb = (rssPeak - rssStart) / 1024;
    assert.ok(growthMb < 400, `RSS grew by ${growthMb.toFixed(0)} MiB`);
    const res = await fetch(`${srv.http}/v2/models/echo/infer`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 1], data: [1] }] }) });
    assert.equal(res.status, 200);
  });
});
