import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { CLI, startInferd, type InferdProcess } from '../helpers/inferd-process.js';
import { adminKeyOf, createKey } from '../helpers/keys.js';

const APPLY = '/apis/inferd.dev/v1/apply';
const ISVCS = '/apis/serving.kserve.io/v1beta1/inferenceservices';

/** InferenceServices whose storage refuses at once: stored and audited like any other, cheap to "load". */
function isvcs(names: string[]): string {
  return names.map((n) => `apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata: {name: ${n}}\nspec: {predictor: {model: {modelFormat: {name: onnx}, storageUri: "http://127.0.0.1:1/${n}.onnx"}}}\n`).join('---\n');
}

async function apply(srv: InferdProcess, key: string, names: string[]): Promise<Response> {
  const res = await fetch(`${srv.http}${APPLY}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/yaml' }, body: isvcs(names) });
  assert.equal(res.status, 200, await res.clone().text());
  return res;
}

async function listed(srv: InferdProcess, key: string): Promise<string[]> {
  const res = await fetch(`${srv.http}${ISVCS}`, { headers: { authorization: `Bearer ${key}` } });
  assert.equal(res.status, 200, `key accepted: ${await res.clone().text()}`);
  return ((await res.json()) as { items: Array<{ metadata: { name: string } }> }).items.map((i) => i.metadata.name).sort();
}

async function kill9(srv: InferdProcess): Promise<void> {
  const exited = new Promise((r) => srv.child.once('exit', r));
  srv.child.kill('SIGKILL');
  await exited;
}

/** Rows in inferd.db itself, read from a copy of that one file (no WAL beside it); undefined while a copy is torn. */
function rowsInDbFile(dataDir: string): { isvcs: number; keys: number } | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'inferd-dbcopy-'));
  try {
    copyFileSync(join(dataDir, 'inferd.db'), join(dir, 'inferd.db'));
    const db = new Database(join(dir, 'inferd.db'));
    try {
      const count = (sql: string) => (db.prepare(sql).get() as { n: number }).n;
      const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>;
      const has = (t: string) => tables.some((x) => x.name === t);
      return { isvcs: has('resources') ? count("SELECT count(*) AS n FROM resources WHERE kind = 'InferenceService'") : 0, keys: has('api_keys') ? count('SELECT count(*) AS n FROM api_keys') : 0 };
    } finally {
      db.close();
    }
  } catch {
    return undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function untilInDbFile(dataDir: string, want: { isvcs: number; keys: number }): Promise<void> {
  let seen: { isvcs: number; keys: number } | undefined;
  for (let i = 0; i < 300; i++) {
    seen = rowsInDbFile(dataDir);
    if (seen && seen.isvcs >= want.isvcs && seen.keys >= want.keys) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`inferd.db never held the acknowledged writes without its WAL: wanted ${JSON.stringify(want)}, the file alone has ${JSON.stringify(seen)}`);
}

const auditLines = (dataDir: string) => readFileSync(join(dataDir, 'audit.log'), 'utf8').split('\n').filter(Boolean);

function verify(dataDir: string): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [CLI, 'audit', 'verify', '--data-dir', dataDir], { encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr };
}

const removeWal = (dataDir: string) => ['inferd.db-wal', 'inferd.db-shm'].forEach((f) => rmSync(join(dataDir, f), { force: true }));

describe('durable store and audit log (issue 17 item 8)', () => {
  it('after several kill -9, what was acknowledged is in inferd.db itself: deleting the WAL loses nothing', async (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'inferd-kill9-'));
    const keys: string[] = [];
    const names: string[] = [];
    let admin = '';
    for (let round = 0; round < 3; round++) {
      const srv = await startInferd(['--auth', 'keys'], { dataDir });
      try {
        admin = adminKeyOf(dataDir);
        const batch = [0, 1, 2, 3].map((i) => `r${round}-m${i}`);
        await apply(srv, admin, batch);
        names.push(...batch);
        keys.push(await createKey(srv.http, admin, 'viewer', ['default']));
        await untilInDbFile(dataDir, { isvcs: names.length, keys: keys.length + 1 });
      } finally {
        await kill9(srv);
      }
    }
    const wal = join(dataDir, 'inferd.db-wal');
    t.diagnostic(`after the last kill -9: inferd.db ${statSync(join(dataDir, 'inferd.db')).size} B, WAL ${existsSync(wal) ? statSync(wal).size : 0} B`);
    removeWal(dataDir);
    const srv = await startInferd(['--auth', 'keys'], { dataDir });
    try {
      assert.equal(adminKeyOf(dataDir), admin, 'no new admin key was minted');
      assert.deepEqual(await listed(srv, admin), [...names].sort(), 'every InferenceService survived');
      for (const key of keys) assert.deepEqual(await listed(srv, key), [...names].sort(), 'every API key still works');
    } finally {
      await srv.stop();
    }
  });

  it('refuses to start on a store that lost its history (an old copy, a new empty store), naming the files; --allow-store-reset is the audited way on', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'inferd-lost-'));
    let srv = await startInferd(['--auth', 'keys'], { dataDir });
    const admin = adminKeyOf(dataDir);
    await apply(srv, admin, ['first']);
    assert.equal(await srv.stop(), 0);
    const old = join(mkdtempSync(join(tmpdir(), 'inferd-old-')), 'inferd.db');
    copyFileSync(join(dataDir, 'inferd.db'), old);
    srv = await startInferd(['--auth', 'keys'], { dataDir });
    await apply(srv, admin, ['second']);
    assert.equal(await srv.stop(), 0);

    // An old copy put back: the audit log has seen changes this store never had.
    copyFileSync(old, join(dataDir, 'inferd.db'));
    removeWal(dataDir);
    await assert.rejects(startInferd(['--auth', 'keys'], { dataDir }), /inferd\.db has lost history[^\n]*recorded store version \d+, the store is at \d+[^\n]*--allow-store-reset/);

    // The database gone (or only its WAL, never checkpointed): a new, empty store beside an admin key and audit log.
    rmSync(join(dataDir, 'inferd.db'));
    await assert.rejects(startInferd(['--auth', 'keys'], { dataDir }), /lost history[^\n]*admin\.key exists[^\n]*audit log [^\n]*has entries[^\n]*Restore [^\n]*inferd\.db-wal/);
    assert.equal(adminKeyOf(dataDir), admin, 'the admin key was not replaced');

    srv = await startInferd(['--auth', 'keys', '--allow-store-reset'], { dataDir });
    const fresh = adminKeyOf(dataDir);
    assert.notEqual(fresh, admin, 'a reset on purpose bootstraps a new admin key');
    assert.deepEqual(await listed(srv, fresh), []);
    assert.equal(await srv.stop(), 0);
    assert.ok(auditLines(dataDir).some((l) => (JSON.parse(l) as { action: string }).action === 'store.reset'), 'the reset is audited');
    srv = await startInferd(['--auth', 'keys'], { dataDir });
    assert.equal(await srv.stop(), 0, 'after the reset the store starts normally');
    const v = verify(dataDir);
    assert.equal(v.status, 0, v.out);
  });

  it('an apply has its audit entry by the time its response arrives, also when the client went away first', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'inferd-audit-order-'));
    const srv = await startInferd(['--auth', 'keys'], { dataDir });
    try {
      const admin = adminKeyOf(dataDir);
      for (let i = 0; i < 5; i++) {
        await apply(srv, admin, [`a${i}`]);
        assert.ok(auditLines(dataDir).some((l) => l.includes(`InferenceService/default/a${i}:created`)), `apply ${i} is in the audit log when its answer arrives`);
      }
      // A client that sends its apply and closes the connection without reading the answer.
      const body = isvcs(['gone']);
      const u = new URL(srv.http);
      const socket = connect(Number(u.port), u.hostname);
      socket.on('error', () => undefined);
      await new Promise<void>((r) => socket.once('connect', () => r()));
      socket.end(`POST ${APPLY} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${admin}\r\nContent-Type: application/yaml\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
      socket.destroy();
      let stored = 0;
      for (let i = 0; i < 200 && stored !== 200; i++) {
        stored = (await fetch(`${srv.http}/apis/serving.kserve.io/v1beta1/namespaces/default/inferenceservices/gone`, { headers: { authorization: `Bearer ${admin}` } })).status;
        if (stored !== 200) await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(stored, 200, 'the apply was committed');
      assert.ok(auditLines(dataDir).some((l) => l.includes('InferenceService/default/gone:created')), 'a committed apply is audited even though its answer was never read');
    } finally {
      await srv.stop();
    }
  });

  it('a removed audit tail is caught by inferd audit verify, even right after a kill -9 and after a restart', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'inferd-tail-'));
    let srv = await startInferd(['--auth', 'keys'], { dataDir });
    const admin = adminKeyOf(dataDir);
    for (const n of ['t0', 't1', 't2']) await apply(srv, admin, [n]);
    await kill9(srv);
    const lines = auditLines(dataDir);
    assert.match(lines.at(-1)!, /InferenceService\/default\/t2:created/);
    writeFileSync(join(dataDir, 'audit.log'), lines.slice(0, -1).join('\n') + '\n');
    const cut = verify(dataDir);
    assert.equal(cut.status, 1, cut.out);
    assert.match(cut.out, /removed at the end/);

    // Restarting does not paper over the gap: the chain continues from the head, so verify still fails.
    srv = await startInferd(['--auth', 'keys'], { dataDir });
    await apply(srv, admin, ['t3']);
    assert.equal(await srv.stop(), 0);
    const after = verify(dataDir);
    assert.equal(after.status, 1, after.out);
    assert.match(after.out, /removed/);
  });
});
