import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { AuditLog, verifyAudit } from '../../src/security/audit.js';
import { CLI } from '../helpers/inferd-process.js';

const run = promisify(execFile);

function writeLog(n: number, opts = { maxBytes: 1 << 20, keep: 5 }): string {
  const dir = mkdtempSync(join(tmpdir(), 'inferd-audit-'));
  const path = join(dir, 'audit.log');
  const log = new AuditLog(path, opts);
  for (let i = 0; i < n; i++) log.record({ principal: `key:${i}`, action: 'inferenceservices.delete', resource: `default/m${i}`, outcome: 'success', requestId: `r${i}` });
  log.close();
  return path;
}

const lines = (p: string) => readFileSync(p, 'utf8').split('\n').filter(Boolean);
const put = (p: string, ls: string[]) => writeFileSync(p, ls.join('\n') + '\n');

describe('audit log hash chain', () => {
  it('verifies an untouched log, also after a restart continues the chain', () => {
    const path = writeLog(5);
    const again = new AuditLog(path, { maxBytes: 1 << 20, keep: 5 });
    again.record({ principal: 'cli', action: 'keys.create', resource: 'ik_x', outcome: 'success' });
    again.close();
    const r = verifyAudit(path);
    assert.equal(r.ok, true, r.error);
    assert.equal(r.entries, 6);
    assert.equal((JSON.parse(lines(path)[5]!) as { seq: number }).seq, 6);
  });

  it('names the line of an edited entry', () => {
    const path = writeLog(6);
    const ls = lines(path);
    ls[2] = ls[2]!.replace('"outcome":"success"', '"outcome":"denied"');
    put(path, ls);
    const r = verifyAudit(path);
    assert.equal(r.ok, false);
    assert.match(r.error!, /audit\.log:3: .*edited/);
  });

  it('names the line after a removed entry, and a removed last entry', () => {
    const path = writeLog(6);
    const ls = lines(path);
    put(path, [...ls.slice(0, 3), ...ls.slice(4)]);
    const r = verifyAudit(path);
    assert.equal(r.ok, false);
    assert.match(r.error!, /audit\.log:4: /);

    const p2 = writeLog(6);
    put(p2, lines(p2).slice(0, 5));
    const r2 = verifyAudit(p2);
    assert.equal(r2.ok, false);
    assert.match(r2.error!, /audit\.log:6: .*removed at the end/);
  });

  it('names the line of a reordering', () => {
    const path = writeLog(6);
    const ls = lines(path);
    [ls[1], ls[2]] = [ls[2]!, ls[1]!];
    put(path, ls);
    const r = verifyAudit(path);
    assert.equal(r.ok, false);
    assert.match(r.error!, /audit\.log:2: /);
  });

  it('keeps the chain across rotation', () => {
    const path = writeLog(200, { maxBytes: 4096, keep: 100 });
    assert.ok(existsSync(`${path}.1`) && existsSync(`${path}.2`), 'rotated');
    const r = verifyAudit(path);
    assert.equal(r.ok, true, r.error);
    assert.equal(r.entries, 200);
    assert.ok(r.files.length >= 3);
    // Editing a rotated file is caught too, and named.
    const ls = lines(`${path}.1`);
    ls[0] = ls[0]!.replace('key:', 'kex:');
    put(`${path}.1`, ls);
    const bad = verifyAudit(path);
    assert.equal(bad.ok, false);
    assert.match(bad.error!, /audit\.log\.1:1: /);
  });

  it('rewrites the head with every entry, so a tail removed before any close is caught', () => {
    const dir = mkdtempSync(join(tmpdir(), 'inferd-audit-'));
    const path = join(dir, 'audit.log');
    const log = new AuditLog(path, { maxBytes: 1 << 20, keep: 5 });
    for (let i = 0; i < 3; i++) log.record({ principal: 'cli', action: 'inferenceservices.create', resource: `default/m${i}`, outcome: 'success', details: { storeVersion: i + 1 } }, true);
    // No close: as after a kill -9.
    assert.deepEqual(JSON.parse(readFileSync(`${path}.head`, 'utf8')), { seq: 3, hash: JSON.parse(lines(path)[2]!).hash, storeVersion: 3 });
    put(path, lines(path).slice(0, 2));
    assert.match(verifyAudit(path).error!, /audit\.log:3: .*removed at the end/);
    log.close();
  });

  it('continues from the head when the log lost its tail while stopped, so the gap stays for verify', () => {
    const path = writeLog(5);
    put(path, lines(path).slice(0, 3));
    const again = new AuditLog(path, { maxBytes: 1 << 20, keep: 5 });
    assert.deepEqual(again.missingTail, { logSeq: 3, headSeq: 5 });
    again.record({ principal: 'cli', action: 'keys.create', resource: 'ik_x', outcome: 'success' });
    again.close();
    assert.equal((JSON.parse(lines(path)[3]!) as { seq: number }).seq, 6);
    const r = verifyAudit(path);
    assert.equal(r.ok, false);
    assert.match(r.error!, /audit\.log:4: .*(removed|expected)/);
  });

  it('fails a log whose head file was removed', () => {
    const path = writeLog(3);
    rmSync(`${path}.head`);
    assert.match(verifyAudit(path).error!, /head file is missing/);
  });

  it('inferd audit verify exits 0 on an intact log and 1 naming the line otherwise', async () => {
    const path = writeLog(4);
    const ok = await run(process.execPath, [CLI, 'audit', 'verify', '--file', path]);
    assert.match(ok.stdout, /OK, 4 entries/);
    const ls = lines(path);
    ls[1] = ls[1]!.replace('m1', 'm9');
    put(path, ls);
    const err = await run(process.execPath, [CLI, 'audit', 'verify', '--file', path]).catch((e: { code: number; stderr: string }) => e);
    assert.equal((err as { code: number }).code, 1);
    assert.match((err as { stderr: string }).stderr, /FAILED at .*audit\.log:2: /);
  });
});
