import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { KeyStore, parseExpiry } from '../../src/security/key-store.js';
import { checkJsonLimits } from '../../src/security/json-limits.js';
import { routePermission, roleAllows } from '../../src/security/roles.js';

describe('API key store', () => {
  it('stores only a salted scrypt hash and verifies the key shown once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'inferd-keys-'));
    const keys = new KeyStore(dir);
    const { key, info } = await keys.create({ role: 'predictor', namespaces: ['team-a'] });
    assert.match(key, /^ik_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    assert.equal(info.prefix, key.slice(0, 15));
    const secret = key.slice(16);
    const db = new Database(join(dir, 'inferd.db'), { readonly: true });
    const row = db.prepare('SELECT * FROM api_keys').get() as Record<string, string>;
    db.close();
    assert.ok(!JSON.stringify(row).includes(secret), 'the secret is not stored');
    assert.match(row.hash!, /^scrypt\$16384\$8\$1\$/);
    const two = await keys.create({ role: 'predictor', namespaces: ['team-a'] });
    assert.notEqual(two.key, key);

    assert.equal((await keys.verify(key))?.role, 'predictor');
    assert.equal(await keys.verify(key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A')), undefined, 'wrong secret');
    assert.equal(await keys.verify('ik_000000000000_' + 'a'.repeat(43)), undefined, 'unknown id');
    assert.equal(await keys.verify('garbage'), undefined);
    assert.deepEqual(keys.list().map((k) => k.prefix).sort(), [info.prefix, two.info.prefix].sort());

    keys.revoke(info.prefix);
    assert.equal(await keys.verify(key), undefined, 'revoked at once, even though the hash check was cached');
    assert.equal(keys.get(info.id)?.state, 'revoked');
    assert.equal((await keys.verify(two.key))?.id, two.info.id);
    keys.close();
  });

  it('stops trusting a remembered key once another connection revokes it in the database', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'inferd-keys-'));
    const keys = new KeyStore(dir);
    const { key, info } = await keys.create({ role: 'predictor', namespaces: ['team-a'] });
    assert.equal((await keys.verify(key))?.id, info.id);
    assert.equal(keys.verify(key) instanceof Promise, false, 'a verified key is answered from memory');
    const other = new Database(join(dir, 'inferd.db'));
    other.prepare('UPDATE api_keys SET revoked_at = ? WHERE id = ?').run(new Date().toISOString(), info.id);
    other.close();
    let refusedAfter = -1;
    for (let i = 0; i < 40 && refusedAfter < 0; i++) {
      if ((await keys.verify(key)) === undefined) refusedAfter = i;
      else await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(refusedAfter >= 0, 'the revocation written by another connection is seen');
    keys.close();
  });

  it('runs one scrypt check for a new key presented on many connections at once', async () => {
    const keys = new KeyStore(mkdtempSync(join(tmpdir(), 'inferd-keys-')));
    const { key, info } = await keys.create({ role: 'predictor', namespaces: ['team-a'] });
    const first = keys.verify(key);
    assert.ok(first instanceof Promise, 'a new key is checked with scrypt');
    const herd = Array.from({ length: 64 }, () => keys.verify(key));
    assert.ok(herd.every((p) => p === first), 'requests arriving during the check wait for the same one');
    assert.deepEqual((await Promise.all(herd)).map((i) => i?.id), herd.map(() => info.id));
    const wrong = key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A');
    const refused = keys.verify(wrong);
    assert.equal(keys.verify(wrong), refused, 'a wrong key shares its check too');
    assert.equal(await refused, undefined);
    keys.close();
  });

  it('does not remember a key revoked while its scrypt check ran', async () => {
    const keys = new KeyStore(mkdtempSync(join(tmpdir(), 'inferd-keys-')));
    const { key, info } = await keys.create({ role: 'predictor', namespaces: ['team-a'] });
    const checking = keys.verify(key);
    keys.revoke(info.prefix);
    assert.equal(await checking, undefined, 'the check ends with the record as it is now');
    assert.equal(await keys.verify(key), undefined);
    keys.close();
  });

  it('expires keys', async () => {
    const keys = new KeyStore(mkdtempSync(join(tmpdir(), 'inferd-keys-')));
    // Two seconds of validity: creating and first verifying run scrypt twice, which a loaded CI machine may take hundreds of ms for.
    const expiresAt = new Date(Date.now() + 2000);
    const { key } = await keys.create({ role: 'viewer', namespaces: '*', expiresAt });
    assert.ok(await keys.verify(key), 'valid before its expiry');
    await new Promise((r) => setTimeout(r, expiresAt.getTime() - Date.now() + 20));
    assert.equal(await keys.verify(key), undefined, 'refused once expired, though it was verified and remembered');
    await assert.rejects(keys.create({ role: 'viewer', namespaces: '*', expiresAt: new Date(Date.now() - 1) }), /future/);
    await assert.rejects(keys.create({ role: 'viewer', namespaces: ['Bad NS'] }), /DNS labels/);
    assert.equal(parseExpiry('2d', 0).getTime(), 2 * 86400_000);
    assert.throws(() => parseExpiry('soon'), /duration/);
    keys.close();
  });
});

describe('route permissions', () => {
  it('maps routes to permissions from the one table, unknown routes to admin', () => {
    assert.equal(routePermission('POST', '/v2/models/:name/infer'), 'infer');
    assert.equal(routePermission('HEAD', '/v2/health/ready'), 'public');
    assert.equal(routePermission('POST', '/v1/chat/completions'), 'infer');
    assert.equal(routePermission('DELETE', '/apis/serving.kserve.io/v1beta1/namespaces/:namespace/inferenceservices/:name'), 'deploy');
    assert.equal(routePermission('GET', '/some/new/route'), 'admin');
    assert.equal(routePermission('GET', '/some/new/route', 'infer'), 'infer', 'a route may declare config.permission');
    assert.equal(roleAllows(['viewer'], 'infer'), false);
    assert.equal(roleAllows(['deployer'], 'infer'), true);
    assert.equal(roleAllows(['deployer'], 'admin'), false);
  });
});

describe('JSON limits', () => {
  const limits = { maxJsonDepth: 8, maxStringBytes: 32 };
  it('refuses deep nesting and long strings, ignoring brackets inside strings', () => {
    assert.doesNotThrow(() => checkJsonLimits(Buffer.from('{"a":[[[1]]],"s":"[[[[[[[[[[[[[["}'), limits));
    assert.throws(() => checkJsonLimits(Buffer.from('['.repeat(9) + ']'.repeat(9)), limits), /deeper than 8/);
    assert.throws(() => checkJsonLimits(Buffer.from(`{"s":"${'x'.repeat(33)}"}`), limits), /exceeds/);
    assert.doesNotThrow(() => checkJsonLimits(Buffer.from(`{"s":"${'\\"'.repeat(10)}"}`), limits));
    assert.doesNotThrow(() => checkJsonLimits(Buffer.from('['.repeat(9)), limits, 4), 'only the JSON part of a binary body');
  });
});
