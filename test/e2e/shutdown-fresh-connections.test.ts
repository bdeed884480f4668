import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startInferd, waitReady } from '../helpers/inferd-process.js';

function open(base: string): Promise<Socket> {
  const u = new URL(base);
  const s = connect(Number(u.port), u.hostname);
  s.on('error', () => undefined);
  return new Promise((resolve) => s.once('connect', () => resolve(s)));
}

const closed = (s: Socket) => new Promise<void>((resolve) => (s.destroyed ? resolve() : s.once('close', () => resolve())));

describe('SIGTERM with connections that never sent a request', () => {
  it('answers a request sent soon after the signal, then closes unused connections instead of waiting out the grace period', async () => {
    const cfg = join(mkdtempSync(join(tmpdir(), 'inferd-fresh-')), 'inferd.yaml');
    writeFileSync(cfg, 'shutdownGraceSeconds: 60\n');
    const srv = await startInferd(['--config', cfg]);
    await waitReady(srv.http);
    const unused = await open(srv.http);
    const late = await open(srv.http);
    const signalled = Date.now();
    const exited = srv.stop();
    // A client that connected before the signal and sends its request just after it gets an answer, not a reset.
    await sleep(200);
    let answer = '';
    late.on('data', (d: Buffer) => (answer += d.toString()));
    late.write('GET /v2/health/ready HTTP/1.1\r\nHost: x\r\n\r\n');
    await closed(late);
    assert.match(answer, /^HTTP\/1\.1 503 /);
    assert.match(answer, /connection: close/i);
    // The connection that never sent anything is closed; the process does not wait 60 s for it.
    await closed(unused);
    assert.equal(await exited, 0);
    assert.ok(Date.now() - signalled < 30_000, `exit took ${Date.now() - signalled} ms with a 60 s grace period`);
  });
});
