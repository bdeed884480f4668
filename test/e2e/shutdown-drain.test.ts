import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { MANIFESTS } from '../helpers/fixtures.js';
import { startInferd, waitReady } from '../helpers/inferd-process.js';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request; resolves with the answer, or rejects with the socket error (ECONNREFUSED, EPIPE, ECONNRESET). */
function send(url: string, opts: { agent?: Agent; method?: string; body?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: opts.method ?? 'GET', ...(opts.agent ? { agent: opts.agent } : { agent: false }) }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

const BODY = JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }] });

describe('SIGTERM drain window (issue 17 item 9)', () => {
  it('keeps the listener open answering 503 to probes, pooled connections and new work, then closes and exits 0', async () => {
    const srv = await startInferd(['-f', join(MANIFESTS, 'onnx-models.yaml'), '--config', join(MANIFESTS, 'inferd-config.yaml'), '--no-watch', '--shutdown-drain-seconds', '6']);
    await waitReady(srv.http, 60_000);
    // A pooled keep-alive connection, as a load balancer or HTTP client keeps one.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    assert.equal((await send(`${srv.http}/v2/health/ready`, { agent })).status, 200);
    const exited = srv.stop();
    await srv.waitForLog((l) => l.msg === 'shutting down' && l.drainSeconds === 6);
    // Past the moment the old shutdown had closed the listener and reaped idle connections.
    await new Promise((r) => setTimeout(r, 300));

    const probe = await send(`${srv.http}/v2/health/ready`);
    assert.equal(probe.status, 503, 'a probe on a new connection is answered not-ready, not refused');
    assert.deepEqual(JSON.parse(probe.body), { ready: false });

    const pooled = await send(`${srv.http}/v2/health/ready`, { agent });
    assert.equal(pooled.status, 503, 'the pooled keep-alive connection gets an HTTP answer, not EPIPE/ECONNRESET');
    assert.equal(pooled.headers.connection, 'close', 'and is told to reconnect');

    const infer = await send(`${srv.http}/v2/models/mlp/infer`, { method: 'POST', body: BODY });
    assert.equal(infer.status, 503, 'new inference work is refused during the drain');
    assert.ok(infer.headers['retry-after'], 'with Retry-After');
    assert.equal(infer.headers.connection, 'close');
    assert.equal((await send(`${srv.http}/v2/health/live`)).status, 200, 'liveness stays 200: a draining server is not dead');

    assert.equal(await exited, 0);
    await assert.rejects(send(`${srv.http}/v2/health/ready`), /ECONNREFUSED/, 'the listener is closed after the drain window');
    agent.destroy();
  });
});
